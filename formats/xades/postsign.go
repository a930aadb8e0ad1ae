package xades

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/c14n"
	"github.com/trifirma/trifirma/internal/xmldom"
)

var (
	markerRE = regexp.MustCompile(`====REPLACE(?:ME_(\d+)|-(\d+)-(?:R(\d+)-(\d+)|(B64)))====`)
	svRE     = regexp.MustCompile(`<ds:SignatureValue Id="([^"]+)">====REPLACEME_(\d+)====`)
)

// Postsign implements [trifirma.Engine]: it inserts each PK1 into the skeleton of BASE,
// restores the content presign left out of it from the document, and verifies the result
// (every reference digest of every new signature, SignedInfo against PRE, each signature
// value) before returning it.
func (e *Engine) Postsign(ctx context.Context, req *trifirma.Request, td *trifirma.TriphaseData) ([]byte, error) {
	o, err := e.prepare(req)
	if err != nil {
		return nil, err
	}
	if td == nil || len(td.Signs) == 0 {
		return nil, fmt.Errorf("%w: no firma in the session", trifirma.ErrInvalidSession)
	}
	sd0 := td.Signs[0]
	rawBase, err := sd0.Bytes(trifirma.ParamBase)
	if err != nil {
		return nil, err
	}
	encName, _ := sd0.Get(trifirma.ParamEncoding)
	enc := xmldom.CanonicalEncoding(encName)
	if encName == "" {
		enc = xmldom.EncUTF8
	}
	if enc == "" || enc == "UTF-16" {
		return nil, fmt.Errorf("%w: ENCODING %q", trifirma.ErrInvalidSession, encName)
	}
	bom := hasBOM(rawBase, enc)
	skel, err := xmldom.DecodeAs(rawBase, enc)
	if err != nil {
		return nil, fmt.Errorf("%w: BASE: %v", trifirma.ErrInvalidSession, err)
	}
	n := len(td.Signs)
	pres := make([][]byte, n)
	values := make([][]byte, n)
	for i, sd := range td.Signs {
		if pres[i], err = sd.Bytes(trifirma.ParamPRE); err != nil {
			return nil, err
		}
		pk1, err := sd.Bytes(trifirma.ParamPK1)
		if err != nil {
			return nil, err
		}
		if err := trifirma.VerifySignature(o.signer, o.alg, pres[i], pk1); err != nil {
			return nil, fmt.Errorf("firma %d: %w", i, err)
		}
		values[i] = pk1
		if pub, ok := o.signer.PublicKey.(*ecdsa.PublicKey); ok {
			if values[i], err = rawECDSA(pk1, pub); err != nil {
				return nil, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	text, svIDs, err := e.assemble(skel, req.Document, values)
	if err != nil {
		return nil, err
	}
	out := xmldom.EncodeText([]byte(text), enc, bom)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.verifyOutput(o, out, svIDs, pres, values, req.Document); err != nil {
		return nil, err
	}
	return out, nil
}

func hasBOM(b []byte, enc string) bool {
	switch enc {
	case xmldom.EncUTF8:
		return bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	case xmldom.EncUTF16LE:
		return bytes.HasPrefix(b, []byte{0xFF, 0xFE})
	case xmldom.EncUTF16BE:
		return bytes.HasPrefix(b, []byte{0xFE, 0xFF})
	}
	return false
}

// assemble replaces the markers of the skeleton: signature values, document ranges and the
// document in Base64. It returns the text and the SignatureValue Id of each new signature.
func (e *Engine) assemble(skel string, doc []byte, values [][]byte) (string, []string, error) {
	svIDs := make([]string, len(values))
	for _, m := range svRE.FindAllStringSubmatch(skel, -1) {
		i, err := strconv.Atoi(m[2])
		if err != nil || i < 0 || i >= len(values) || svIDs[i] != "" {
			return "", nil, fmt.Errorf("%w: BASE has an unexpected signature placeholder %q", trifirma.ErrInvalidSession, m[0])
		}
		svIDs[i] = m[1]
	}
	for i, id := range svIDs {
		if id == "" {
			return "", nil, fmt.Errorf("%w: BASE has no placeholder for firma %d", trifirma.ErrInvalidSession, i)
		}
	}
	var src string
	var srcErr error
	srcDone := false
	source := func() (string, error) {
		if !srcDone {
			srcDone = true
			if len(doc) > e.maxBytes() {
				srcErr = fmt.Errorf("%w: document of %d bytes", trifirma.ErrTooLarge, len(doc))
			} else if s, _, _, err := xmldom.Decode(doc); err != nil {
				srcErr = fmt.Errorf("%w: the document is not the presigned one: %v", trifirma.ErrInvalidDocument, err)
			} else {
				src = s
			}
		}
		return src, srcErr
	}
	var b strings.Builder
	size := len(skel)
	for _, m := range markerRE.FindAllStringSubmatchIndex(skel, -1) {
		switch {
		case m[6] >= 0:
			s, _ := strconv.Atoi(skel[m[6]:m[7]])
			t, _ := strconv.Atoi(skel[m[8]:m[9]])
			size += t - s
		case m[10] >= 0:
			size += base64.StdEncoding.EncodedLen(len(doc))
		}
	}
	if size > 0 {
		b.Grow(size)
	}
	last := 0
	seen := make([]bool, len(values))
	for _, m := range markerRE.FindAllStringSubmatchIndex(skel, -1) {
		b.WriteString(skel[last:m[0]])
		last = m[1]
		switch {
		case m[2] >= 0:
			i, _ := strconv.Atoi(skel[m[2]:m[3]])
			if i >= len(values) || seen[i] {
				return "", nil, fmt.Errorf("%w: BASE repeats signature placeholder %d", trifirma.ErrInvalidSession, i)
			}
			seen[i] = true
			b.WriteString(base64.StdEncoding.EncodeToString(values[i]))
		case m[6] >= 0:
			src, err := source()
			if err != nil {
				return "", nil, err
			}
			s, err1 := strconv.Atoi(skel[m[6]:m[7]])
			t, err2 := strconv.Atoi(skel[m[8]:m[9]])
			if err1 != nil || err2 != nil || s < 0 || t < s || t > len(src) {
				return "", nil, fmt.Errorf("%w: the document is not the presigned one (range %d-%d of %d)", trifirma.ErrInvalidDocument, s, t, len(src))
			}
			b.WriteString(src[s:t])
		case m[10] >= 0:
			if len(doc) == 0 {
				return "", nil, fmt.Errorf("%w: postsign needs the signed data", trifirma.ErrInvalidDocument)
			}
			enc := base64.NewEncoder(base64.StdEncoding, &b)
			enc.Write(doc)
			enc.Close()
		}
	}
	b.WriteString(skel[last:])
	return b.String(), svIDs, nil
}

// verifyOutput checks every new signature of the final document: SignedInfo is PRE, the
// value is the device's, and every reference digest matches the referenced content.
func (e *Engine) verifyOutput(o *options, out []byte, svIDs []string, pres, values [][]byte, data []byte) error {
	lim := e.lim
	// The output holds the document (Base64 for binary data) and the new signatures.
	lim.MaxBytes = int(min(int64(e.maxBytes())*2+64<<20, math.MaxInt32))
	doc, err := xmldom.Parse(out, lim)
	if err != nil {
		return fmt.Errorf("%w: the assembled signature does not parse (the document is not the presigned one?): %v", trifirma.ErrInvalidDocument, err)
	}
	for i, id := range svIDs {
		els := doc.ElementsByID(id)
		if len(els) != 1 || els[0].Parent == nil || !els[0].Parent.Is(NSDS, "Signature") {
			return fmt.Errorf("%w: new signature %d not found once in the output", trifirma.ErrInvalidDocument, i)
		}
		sig := els[0].Parent
		si, err := readSignature(sig)
		if err != nil {
			return err
		}
		cm := si.signedInfo.FirstElement(NSDS, "CanonicalizationMethod")
		if cm == nil {
			return fmt.Errorf("%w: SignedInfo without CanonicalizationMethod", trifirma.ErrInvalidDocument)
		}
		alg, err := c14n.ParseAlgorithm(cm.AttrValue("Algorithm"))
		if err != nil {
			return fmt.Errorf("%w: %v", trifirma.ErrInvalidDocument, err)
		}
		for _, c := range cm.Elements() {
			if c.Local() == "InclusiveNamespaces" {
				alg.InclusivePrefixes = strings.Fields(c.AttrValue("PrefixList"))
			}
		}
		got, err := c14n.Bytes(si.signedInfo, alg, nil)
		if err != nil {
			return fmt.Errorf("%w: %v", trifirma.ErrInvalidDocument, err)
		}
		if !bytes.Equal(got, pres[i]) {
			return fmt.Errorf("%w: SignedInfo of signature %d differs from PRE", trifirma.ErrInvalidSession, i)
		}
		sm := si.signedInfo.FirstElement(NSDS, "SignatureMethod")
		if want, _ := signatureURI(o.alg); sm == nil || sm.AttrValue("Algorithm") != want {
			return fmt.Errorf("%w: signature %d was presigned for another algorithm", trifirma.ErrInvalidSession, i)
		}
		sv, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(si.sigValue.Text()), ""))
		if err != nil || !bytes.Equal(sv, values[i]) {
			return fmt.Errorf("%w: SignatureValue of signature %d is not the device's value", trifirma.ErrInvalidSession, i)
		}
		for _, r := range si.refs {
			d, err := digestReference(r, &doc.Node, sig, doc.ElementsByID, lim)
			if errors.Is(err, errUnsupportedRef) && !strings.HasPrefix(r.URI, "#") && r.URI != "" {
				// External data: signed as given at presign (sign) or copied from the
				// co-signed signature (cosign).
				if o.op == trifirma.OpSign {
					h := r.Digest.New()
					h.Write(data)
					d = h.Sum(nil)
				} else {
					continue
				}
			} else if err != nil {
				return err
			}
			if !bytes.Equal(d, r.DigestValue) {
				return fmt.Errorf("%w: reference %q of signature %d does not match the document (is it the presigned one?)", trifirma.ErrInvalidDocument, r.URI, i)
			}
		}
	}
	return nil
}
