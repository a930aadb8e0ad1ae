package pades

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/pdf"
)

const byteRangePlaceholder = "[0 0000000000 0000000000 0000000000]"

// revision is the incremental update that carries one new signature: the original document
// followed by upd, with the /Contents placeholder at [cStart, cEnd).
type revision struct {
	r        *pdf.Reader // the document, as read
	doc      []byte
	upd      []byte
	cStart   int // offset of '<' in upd
	cEnd     int // offset just after '>' in upd
	reserved int // bytes of CMS the placeholder holds
	id       pdf.Array
}

// digest hashes the ByteRange in one pass, straight from the caller's document and the update
// (nothing is copied): the whole document, then the update around /Contents.
func (rv *revision) digest(h crypto.Hash) []byte {
	hh := h.New()
	writeChunked(hh, rv.doc)
	hh.Write(rv.upd[:rv.cStart])
	hh.Write(rv.upd[rv.cEnd:])
	return hh.Sum(nil)
}

// chunk is the piece size of long hashing and copying loops. The assembly of SHA-2 and of
// memmove cannot be preempted: one call over a 200 MB document keeps the garbage collector
// spinning on the other core, trying to stop the goroutine, for the whole pass (measured: a
// third of the CPU). Between chunks the goroutine can be stopped.
const chunk = 1 << 20

func writeChunked(w io.Writer, b []byte) {
	for len(b) > 0 {
		n := min(len(b), chunk)
		w.Write(b[:n])
		b = b[n:]
	}
}

// copyChunked copies src into dst (len(dst) >= len(src)) in preemptible pieces.
func copyChunked(dst, src []byte) {
	for i := 0; i < len(src); i += chunk {
		copy(dst[i:min(i+chunk, len(src))], src[i:])
	}
}

// insert writes the CMS in hex into the /Contents placeholder of the update.
func (rv *revision) insert(cmsDER []byte) {
	hex.Encode(rv.upd[rv.cStart+1:], cmsDER)
}

// byteRange returns the ByteRange values.
func (rv *revision) byteRange() [4]int64 {
	d := int64(len(rv.doc))
	a := d + int64(rv.cStart)
	b := d + int64(rv.cEnd)
	return [4]int64{0, a, b, d + int64(len(rv.upd)) - b}
}

// pdfDate formats t as a PDF date.
func pdfDate(t time.Time) string {
	s := t.Format("D:20060102150405")
	_, off := t.Zone()
	if off == 0 {
		return s + "Z"
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s%c%02d'%02d'", s, sign, off/3600, off%3600/60)
}

// buildInput is everything a revision depends on.
type buildInput struct {
	doc      []byte
	params   trifirma.Params
	opts     *options
	chain    []*x509.Certificate
	when     time.Time
	id       pdf.Array // nil: derive
	reserved int
	loc      *time.Location
}

// openDocument opens the PDF with the request's passwords, turning password problems into
// the reference's confirmations.
func openDocument(ctx context.Context, doc []byte, p trifirma.Params, o *options) (*pdf.Reader, error) {
	r, err := pdf.OpenBytes(ctx, doc, &pdf.Options{Passwords: o.passwords})
	switch {
	case err == nil:
	case errors.Is(err, pdf.ErrEncrypted):
		return nil, trifirma.NeedConfig(p, trifirma.NeedPDFPasswordProtected, ParamOwnerPassword,
			"the PDF is encrypted (password protected): its password is needed to sign it")
	case errors.Is(err, pdf.ErrBadPassword):
		return nil, trifirma.NeedConfig(p, trifirma.NeedPDFBadPassword, ParamUserPassword,
			"the password given does not open the PDF")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return nil, err
	default:
		return nil, fmt.Errorf("%w: %v", trifirma.ErrInvalidDocument, err)
	}
	if perm, owner, enc := r.Permissions(); enc && !owner && perm&(1<<5) == 0 && perm&(1<<8) == 0 {
		return nil, trifirma.NeedConfig(p, trifirma.NeedPDFPasswordProtected, ParamOwnerPassword,
			"the PDF's permissions forbid adding signatures: its owner password is needed")
	}
	return r, nil
}

// build prepares the revision.
func build(ctx context.Context, in *buildInput) (*revision, error) {
	o := in.opts
	r, err := openDocument(ctx, in.doc, in.params, o)
	if err != nil {
		return nil, err
	}
	fields, err := formFields(r)
	if err != nil {
		return nil, err
	}
	sigs := signatures(r, fields)
	if err := checkDocument(ctx, r, in.doc, in.params, o, fields, sigs); err != nil {
		return nil, err
	}
	pages, err := newPageSet(ctx, r)
	if err != nil {
		return nil, err
	}
	cat, catRef, err := r.Catalog()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", trifirma.ErrInvalidDocument, err)
	}
	u := r.NewUpdate()
	ed := &editor{r: r, u: u}
	when := in.when.In(in.loc)

	// The signature dictionary.
	sigRef := u.Reserve()
	sig := pdf.NewDict("Type", pdf.Name("Sig"), "Filter", pdf.Name("Adobe.PPKLite"), "SubFilter", pdf.Name(o.subFilter))
	var signer *x509.Certificate
	if len(in.chain) > 0 {
		signer = in.chain[0]
	}
	if signer != nil && !o.noName {
		sig.Set("Name", pdf.String(pdfText(commonName(signer))))
	}
	sig.Set("M", pdf.String(pdfDate(when)))
	if o.reason != "" {
		sig.Set("Reason", pdf.String(pdfText(o.reason)))
	}
	if o.location != "" {
		sig.Set("Location", pdf.String(pdfText(o.location)))
	}
	if o.contact != "" {
		sig.Set("ContactInfo", pdf.String(pdfText(o.contact)))
	}
	if o.certLevel > 0 {
		sig.Set("Reference", pdf.Array{pdf.NewDict("Type", pdf.Name("SigRef"), "TransformMethod", pdf.Name("DocMDP"),
			"TransformParams", pdf.NewDict("Type", pdf.Name("TransformParams"), "P", int64(o.certLevel), "V", pdf.Name("1.2")))})
	}
	placeholder := make([]byte, 2*in.reserved+2)
	placeholder[0], placeholder[1] = '<', '0'
	for n := 1; n < len(placeholder)-2; n *= 2 {
		copy(placeholder[1+n:len(placeholder)-1], placeholder[1:1+n])
	}
	placeholder[len(placeholder)-1] = '>'
	sig.Set("ByteRange", pdf.Marker{ID: "br", Body: []byte(byteRangePlaceholder)})
	sig.Set("Contents", pdf.Marker{ID: "contents", Body: placeholder})
	u.Set(sigRef, sig)

	// Text and image of a visible appearance.
	var img *jpegImage
	if o.rubric != nil {
		if img, err = parseJPEG(o.rubric); err != nil {
			return nil, err
		}
	}
	// The text is only laid out when something shows it.
	text := ""
	if o.rect != nil || (o.hasField && strings.TrimSpace(o.field) != "") {
		if o.layer2 != nil {
			text = *o.layer2
		} else if img == nil {
			text = defaultLayer2Text(o.reason != "", o.location != "")
		}
		text = layerText(text, signer, when, o)
	}
	newField := true
	if o.hasField && strings.TrimSpace(o.field) != "" {
		newField = false
		if err := ed.signExistingField(fields, pages, o, sigRef, text, img); err != nil {
			return nil, err
		}
	}
	var fieldRef pdf.Ref
	if newField {
		if fieldRef, err = ed.newField(ctx, fields, pages, o, sigRef, text, img); err != nil {
			return nil, err
		}
	}
	if err := ed.updateCatalog(cat, catRef, newField, fieldRef, o, sigRef); err != nil {
		return nil, err
	}

	// The trailer /ID: the document's first element (the encryption key depends on it) and a
	// new second one derived from what the revision depends on.
	id := in.id
	if id == nil {
		id = deriveID(r, in)
	} else if err := checkID(r, id); err != nil {
		return nil, err
	}
	upd, lay, err := u.Bytes(pdf.WriteOptions{ID: id, SizeHint: len(placeholder) + 8<<10})
	if err != nil {
		return nil, fmt.Errorf("%w: writing the update: %v", trifirma.ErrInvalidDocument, err)
	}
	brOff, ok1 := lay.Markers["br"]
	cOff, ok2 := lay.Markers["contents"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: signature placeholders missing from the update", trifirma.ErrInvalidDocument)
	}
	rv := &revision{r: r, doc: in.doc, upd: upd, cStart: cOff, cEnd: cOff + len(placeholder), reserved: in.reserved, id: id}
	br := rv.byteRange()
	s := fmt.Sprintf("[%d %d %d %d", br[0], br[1], br[2], br[3])
	if len(s)+1 > len(byteRangePlaceholder) {
		return nil, fmt.Errorf("%w: the document is too large for a signature ByteRange", trifirma.ErrTooLarge)
	}
	s += strings.Repeat(" ", len(byteRangePlaceholder)-len(s)-1) + "]"
	copy(upd[brOff:], s)
	return rv, nil
}

// deriveID computes the new trailer /ID deterministically from the document's cross-reference
// position and size, its old /ID, the signing time and the signer.
func deriveID(r *pdf.Reader, in *buildInput) pdf.Array {
	var id0 []byte
	if ida, ok := r.Trailer().Get("ID").(pdf.Array); ok && len(ida) > 0 {
		if s, ok := ida[0].(pdf.String); ok {
			id0 = s
		}
	}
	h := sha256.New()
	h.Write([]byte("trifirma-pades-id"))
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(in.doc)))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(r.StartXRef()))
	h.Write(n[:])
	binary.BigEndian.PutUint64(n[:], uint64(in.when.UnixMilli()))
	h.Write(n[:])
	h.Write(id0)
	if len(in.chain) > 0 && in.chain[0] != nil {
		h.Write(in.chain[0].Raw)
	}
	sum := h.Sum(nil)
	if len(id0) == 0 {
		id0 = sum[16:32]
	}
	return pdf.Array{pdf.HexString(id0), pdf.HexString(sum[:16])}
}

// checkID verifies a PID from the session: two strings, the first equal to the document's.
func checkID(r *pdf.Reader, id pdf.Array) error {
	if len(id) != 2 {
		return fmt.Errorf("%w: PID must be an array of two strings", trifirma.ErrInvalidSession)
	}
	for _, e := range id {
		s, ok := e.(pdf.HexString)
		if !ok || len(s) == 0 || len(s) > 64 {
			return fmt.Errorf("%w: PID must be an array of two strings", trifirma.ErrInvalidSession)
		}
	}
	if ida, ok := r.Trailer().Get("ID").(pdf.Array); ok && len(ida) > 0 {
		if s, ok := ida[0].(pdf.String); ok && string(s) != string(id[0].(pdf.HexString)) {
			return fmt.Errorf("%w: the PID does not belong to this document (its first element differs from the document's /ID)", trifirma.ErrInvalidSession)
		}
	}
	return nil
}

// encodePID renders the /ID array as the text carried in PID (e.g. "[<hex><hex>]").
func encodePID(id pdf.Array) []byte { return pdf.Append(nil, id) }

// decodePID parses the PID text.
func decodePID(b []byte) (pdf.Array, error) {
	s := strings.TrimSpace(string(b))
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") || len(s) > 300 {
		return nil, fmt.Errorf("%w: PID is not a PDF /ID array", trifirma.ErrInvalidSession)
	}
	var out pdf.Array
	rest := s[1 : len(s)-1]
	for {
		rest = strings.TrimSpace(rest)
		if rest == "" {
			break
		}
		if rest[0] != '<' {
			return nil, fmt.Errorf("%w: PID is not an array of hex strings", trifirma.ErrInvalidSession)
		}
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return nil, fmt.Errorf("%w: PID has an unterminated string", trifirma.ErrInvalidSession)
		}
		v, err := hex.DecodeString(rest[1:end])
		if err != nil {
			return nil, fmt.Errorf("%w: PID has a bad hex string", trifirma.ErrInvalidSession)
		}
		out = append(out, pdf.HexString(v))
		rest = rest[end+1:]
	}
	return out, nil
}

// parseTime parses TIME (Java epoch milliseconds).
func parseTime(s string) (time.Time, error) {
	ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || ms < 0 || ms > 253402300799999 {
		return time.Time{}, fmt.Errorf("%w: TIME=%q is not a time in epoch milliseconds", trifirma.ErrInvalidSession, s)
	}
	return time.UnixMilli(ms), nil
}
