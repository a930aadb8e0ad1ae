package pades

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the default signing-time zone must not depend on the host

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/internal/pdf"
	"github.com/trifirma/trifirma/policy"
)

// Config configures an [Engine]. The zero value behaves as the reference, with signing times
// shown in Europe/Madrid and tsaURL refused.
type Config struct {
	// Location is the time zone of /M and of the dates in visible signatures; nil means
	// Europe/Madrid (the reference shows the server's zone, which for the Spanish
	// administration is Madrid).
	Location *time.Location
	// TSA, when set, chooses the time-stamping client of each postsign (a signature
	// time-stamp over the CMS signature value, as the reference does for tsaURL). When nil, a
	// request carrying tsaURL fails with [trifirma.ErrInvalidParams].
	TSA cades.TSAFunc
	// Logger receives warnings; nil means slog.Default().
	Logger *slog.Logger
}

// Engine is the PAdES engine. It is safe for concurrent use.
type Engine struct {
	cfg Config
	loc *time.Location
	log *slog.Logger
}

// New returns a PAdES engine.
func New(cfg Config) *Engine {
	e := &Engine{cfg: cfg, loc: cfg.Location, log: cfg.Logger}
	if e.loc == nil {
		if l, err := time.LoadLocation("Europe/Madrid"); err == nil {
			e.loc = l
		} else {
			e.loc = time.UTC
		}
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	return e
}

var _ trifirma.Engine = (*Engine)(nil)

// request is the common preparation of both phases.
type request struct {
	params   trifirma.Params
	opts     *options
	attrs    *cades.AttributeOptions
	reserved int
	stamp    bool
}

func (e *Engine) prepare(ctx context.Context, req *trifirma.Request) (*request, error) {
	switch req.Operation {
	case trifirma.OpSign, trifirma.OpCoSign, "":
	case trifirma.OpCounterSign:
		return nil, fmt.Errorf("%w: PAdES has no countersignatures (co-sign a PDF by signing it again)", trifirma.ErrUnsupportedOperation)
	default:
		return nil, fmt.Errorf("%w: %q", trifirma.ErrUnsupportedOperation, req.Operation)
	}
	signer, err := req.Signer()
	if err != nil {
		return nil, err
	}
	if len(req.Document) == 0 {
		return nil, fmt.Errorf("%w: the PDF is empty (0 bytes)", trifirma.ErrInvalidDocument)
	}
	if !req.Algorithm.Hash.Available() {
		return nil, fmt.Errorf("%w: digest %v", trifirma.ErrUnsupportedAlgorithm, req.Algorithm.Hash)
	}
	params, err := policy.Expand(req.Params, trifirma.FormatPAdES, req.Operation, int64(len(req.Document)))
	if err != nil {
		return nil, err
	}
	o, err := parseOptions(params)
	if err != nil {
		return nil, err
	}
	attrs, err := cades.OptionsFromParams(params, cades.ProfilePAdES)
	if err != nil {
		return nil, err
	}
	attrs.Hash = req.Algorithm.Hash
	attrs.Signer = signer
	rq := &request{params: params, opts: o, attrs: attrs}
	if o.wantTimestamp || e.cfg.TSA != nil {
		if e.cfg.TSA == nil {
			return nil, fmt.Errorf("%w: %s is set but this server has no time-stamping authority configured", trifirma.ErrInvalidParams, ParamTSAURL)
		}
		c, err := e.cfg.TSA(ctx, params)
		if err != nil {
			return nil, err
		}
		rq.stamp = c != nil
	}
	if rq.reserved, err = e.reservedSize(rq, req); err != nil {
		return nil, err
	}
	return rq, nil
}

// maxSignatureLen is the largest signature value the key of cert can produce.
func maxSignatureLen(cert *x509.Certificate) int {
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return (k.N.BitLen() + 7) / 8
	case *ecdsa.PublicKey:
		n := (k.Curve.Params().BitSize + 7) / 8
		return 2*(n+3) + 4
	}
	return 1024
}

// reservedSize returns the /Contents capacity: signReservedSize, or the exact size of the
// CMS this request produces (chain, attributes, longest signature value) plus room for a
// time-stamp token when one will be added.
func (e *Engine) reservedSize(rq *request, req *trifirma.Request) (int, error) {
	a := *rq.attrs
	a.MessageDigest = make([]byte, req.Algorithm.Hash.Size())
	attrs, err := cades.SignedAttributes(&a)
	if err != nil {
		return 0, err
	}
	sig := bytes.Repeat([]byte{0xff}, maxSignatureLen(req.Chain[0]))
	cmsDER, err := cades.AssembleDetached(&cades.DetachedOptions{SignedAttrs: attrs, Signature: sig, Algorithm: req.Algorithm, Chain: req.Chain})
	if err != nil {
		return 0, err
	}
	need := len(cmsDER) + 64
	if rq.stamp {
		need += tsaReserve
	}
	if rq.opts.reservedSize > 0 {
		if rq.opts.reservedSize < need {
			return 0, bad("%s=%d is too small: this signature needs at least %d bytes", ParamReservedSize, rq.opts.reservedSize, need)
		}
		return rq.opts.reservedSize, nil
	}
	return (need + 511) / 512 * 512, nil
}

// Presign prepares the signature revision and returns the session: PRE (the DER signed
// attributes over the digest of the ByteRange), NEED_PRE, TIME and PID.
func (e *Engine) Presign(ctx context.Context, req *trifirma.Request) (*trifirma.TriphaseData, error) {
	rq, err := e.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	when := req.SigningTime()
	rv, err := build(ctx, &buildInput{doc: req.Document, params: rq.params, opts: rq.opts, chain: req.Chain,
		when: when, reserved: rq.reserved, loc: e.loc})
	if err != nil {
		return nil, err
	}
	rq.attrs.MessageDigest = rv.digest(req.Algorithm.Hash)
	pre, err := cades.SignedAttributes(rq.attrs)
	if err != nil {
		return nil, err
	}
	id := strings.TrimSpace(rq.params["SignatureId"])
	if id == "" {
		id = newUUID()
	}
	sd := &trifirma.SignData{ID: id}
	sd.Set(trifirma.ParamPRE, trifirma.EncodeStd(pre))
	sd.Set(trifirma.ParamNeedPRE, "true")
	sd.Set(trifirma.ParamTime, strconv.FormatInt(when.UnixMilli(), 10))
	sd.Set(trifirma.ParamPID, trifirma.EncodeStd(encodePID(rv.id)))
	return &trifirma.TriphaseData{Signs: []*trifirma.SignData{sd}}, nil
}

// Postsign rebuilds the revision from the document, TIME and PID, checks that it is the one
// PRE commits to, and inserts the CMS.
func (e *Engine) Postsign(ctx context.Context, req *trifirma.Request, session *trifirma.TriphaseData) ([]byte, error) {
	rq, err := e.prepare(ctx, req)
	if err != nil {
		return nil, err
	}
	if session == nil || len(session.Signs) == 0 {
		return nil, fmt.Errorf("%w: the session has no firma", trifirma.ErrInvalidSession)
	}
	sd := session.Signs[0]
	for _, name := range []string{trifirma.ParamPRE, trifirma.ParamPK1, trifirma.ParamPID, trifirma.ParamTime} {
		if v, ok := sd.Get(name); !ok || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("%w: the session lacks %s, which PAdES postsign needs", trifirma.ErrInvalidSession, name)
		}
	}
	pre, err := sd.Bytes(trifirma.ParamPRE)
	if err != nil {
		return nil, err
	}
	pk1, err := sd.Bytes(trifirma.ParamPK1)
	if err != nil {
		return nil, err
	}
	pidText, err := sd.Bytes(trifirma.ParamPID)
	if err != nil {
		return nil, err
	}
	id, err := decodePID(pidText)
	if err != nil {
		return nil, err
	}
	ts, _ := sd.Get(trifirma.ParamTime)
	when, err := parseTime(ts)
	if err != nil {
		return nil, err
	}
	rv, err := build(ctx, &buildInput{doc: req.Document, params: rq.params, opts: rq.opts, chain: req.Chain,
		when: when, id: id, reserved: rq.reserved, loc: e.loc})
	if err != nil {
		return nil, err
	}
	out, digest := rv.copyAndDigest(req.Algorithm.Hash)
	rq.attrs.MessageDigest = digest
	attrs, err := cades.SignedAttributes(rq.attrs)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(attrs, pre) {
		return nil, fmt.Errorf("%w: PRE does not match the revision rebuilt from the document, TIME and PID (different document, parameters or certificate)", trifirma.ErrInvalidSession)
	}
	if err := trifirma.VerifySignature(req.Chain[0], req.Algorithm, pre, pk1); err != nil {
		return nil, err
	}
	var unsigned []cades.Attribute
	if rq.stamp {
		c, err := e.cfg.TSA(ctx, rq.params)
		if err != nil {
			return nil, err
		}
		if c != nil {
			a, err := cades.TimestampAttribute(ctx, c, pk1)
			if err != nil {
				return nil, err
			}
			unsigned = append(unsigned, a)
		}
	}
	cmsDER, err := cades.AssembleDetached(&cades.DetachedOptions{SignedAttrs: pre, Signature: pk1, Algorithm: req.Algorithm, Chain: req.Chain, Unsigned: unsigned})
	if err != nil {
		return nil, err
	}
	if len(cmsDER) > rv.reserved {
		return nil, fmt.Errorf("%w: the CMS signature (%d bytes) does not fit the %d bytes reserved in the PDF (%s)", trifirma.ErrInvalidParams, len(cmsDER), rv.reserved, ParamReservedSize)
	}
	rv.insert(out, cmsDER)
	if err := selfCheck(ctx, out, rq.opts, rv); err != nil {
		return nil, err
	}
	return out, nil
}

// selfCheck re-reads the output's newest cross-reference section: it must open without repair
// and name the signature placed where the ByteRange says.
func selfCheck(ctx context.Context, out []byte, o *options, rv *revision) error {
	r, err := pdf.OpenBytes(ctx, out, &pdf.Options{Passwords: o.passwords, AllowEmptyPassword: true})
	if err != nil {
		return fmt.Errorf("%w: the signed PDF does not read back: %v", trifirma.ErrInvalidDocument, err)
	}
	if rep, why := r.Repaired(); rep {
		return fmt.Errorf("%w: the signed PDF's cross-reference is not valid (%s)", trifirma.ErrInvalidDocument, why)
	}
	br := rv.byteRange()
	if br[2]+br[3] != int64(len(out)) || out[br[1]] != '<' || out[br[2]-1] != '>' {
		return fmt.Errorf("%w: the signed PDF's ByteRange is inconsistent", trifirma.ErrInvalidDocument)
	}
	return nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
