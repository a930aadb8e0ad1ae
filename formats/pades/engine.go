package pades

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the default signing-time zone must not depend on the host

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
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
	// MaxShadowAttackPages caps the pages the shadow-attack check compares (the reference
	// server's maxPagesToCheckShadowAttack): 0 means its default, 10; a negative value means
	// no cap. The request's pagesToCheckShadowAttack (10 by default, "all") can only lower it.
	MaxShadowAttackPages int
	// NoShadowAttackCheck disables the shadow-attack check (the reference server's
	// maxPagesToCheckShadowAttack=0).
	NoShadowAttackCheck bool
	// RevisionCache bounds the bytes of incremental updates kept between presign and postsign
	// (each one only its update, never the document), so that the postsign of a session this
	// engine presigned neither parses the document nor writes the update again: it hashes the
	// document and the kept update and uses them only if they give the session's PRE byte for
	// byte. 0 means DefaultRevisionCache (16 MiB); a negative value disables it.
	RevisionCache int
}

// Engine is the PAdES engine. It is safe for concurrent use.
type Engine struct {
	cfg Config
	loc *time.Location
	log *slog.Logger

	// signers caches, per signer and request parameters, the signed attributes with a zeroed
	// digest and the size of the CMS: presign and postsign of one signature compute them from
	// the same inputs, and encoding them is a large part of the fixed cost of each phase.
	mu      sync.Mutex
	signers map[[32]byte]signerInfo

	revs *revCache
}

type signerInfo struct {
	template []byte // read-only once cached
	cmsSize  int
}

const maxSigners = 1024

// signerKey identifies everything the signed attributes and the CMS size depend on: the
// algorithm, the (expanded) extra parameters and the chain.
func signerKey(params trifirma.Params, req *trifirma.Request) ([32]byte, error) {
	h := sha256.New()
	var n [8]byte
	put := func(v uint64) {
		binary.BigEndian.PutUint64(n[:], v)
		h.Write(n[:])
	}
	blob := func(b []byte) {
		put(uint64(len(b)))
		h.Write(b)
	}
	put(uint64(req.Algorithm.Hash))
	put(uint64(req.Algorithm.Key))
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	put(uint64(len(keys)))
	for _, k := range keys {
		blob([]byte(k))
		blob([]byte(params[k]))
	}
	put(uint64(len(req.Chain)))
	for _, c := range req.Chain {
		if c == nil {
			return [32]byte{}, fmt.Errorf("%w: a certificate of the chain is missing", trifirma.ErrInvalidCertificate)
		}
		blob(c.Raw)
	}
	var key [32]byte
	h.Sum(key[:0])
	return key, nil
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
	switch {
	case cfg.RevisionCache == 0:
		e.revs = newRevCache(DefaultRevisionCache)
	case cfg.RevisionCache > 0:
		e.revs = newRevCache(cfg.RevisionCache)
	default:
		e.revs = newRevCache(0)
	}
	return e
}

var _ trifirma.Engine = (*Engine)(nil)

// request is the common preparation of both phases.
type request struct {
	params   trifirma.Params
	opts     *options
	attrs    *cades.AttributeOptions
	template []byte // the signed attributes with an all-zero message digest
	reserved int
	stamp    bool
}

// signedAttributes returns the signed attributes over digest: the template with the digest in
// place of its zeros (DER orders the SET OF attributes by their type before any digest byte
// is compared, so the order cannot change), or, should the template not have exactly one
// message-digest attribute, a fresh encoding.
func (rq *request) signedAttributes(digest []byte) ([]byte, error) {
	if out, ok := withDigest(rq.template, digest); ok {
		return out, nil
	}
	rq.attrs.MessageDigest = digest
	return cades.SignedAttributes(rq.attrs)
}

// messageDigestPrefix is the DER of the message-digest attribute's type
// (1.2.840.113549.1.9.4) and the SET tag of its value.
var messageDigestPrefix = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04, 0x31}

func withDigest(template, digest []byte) ([]byte, bool) {
	i := bytes.Index(template, messageDigestPrefix)
	if i < 0 || bytes.Contains(template[i+1:], messageDigestPrefix) {
		return nil, false
	}
	v := i + len(messageDigestPrefix)
	n := len(digest)
	if v+3+n > len(template) || int(template[v]) != n+2 || template[v+1] != 0x04 || int(template[v+2]) != n {
		return nil, false
	}
	for _, c := range template[v+3 : v+3+n] {
		if c != 0 {
			return nil, false
		}
	}
	out := bytes.Clone(template)
	copy(out[v+3:], digest)
	return out, true
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
	if o.shadowPages, err = e.shadowPages(params); err != nil {
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
	key, err := signerKey(rq.params, req)
	if err != nil {
		return 0, err
	}
	e.mu.Lock()
	c, ok := e.signers[key]
	e.mu.Unlock()
	if !ok {
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
		c = signerInfo{template: attrs, cmsSize: len(cmsDER)}
		e.mu.Lock()
		if e.signers == nil || len(e.signers) >= maxSigners {
			e.signers = map[[32]byte]signerInfo{}
		}
		e.signers[key] = c
		e.mu.Unlock()
	}
	rq.template = c.template
	size := c.cmsSize
	need := size + 64
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
	rq.opts.revisionChecks = true
	rv, err := build(ctx, &buildInput{doc: req.Document, params: rq.params, opts: rq.opts, chain: req.Chain,
		when: when, reserved: rq.reserved, loc: e.loc})
	if err != nil {
		return nil, err
	}
	pre, err := rq.signedAttributes(rv.digest(req.Algorithm.Hash))
	if err != nil {
		return nil, err
	}
	// The update must read back before anyone signs it (postsign checks it again with the
	// signature in place when it rebuilds the revision); then it is kept for postsign.
	if err := selfCheck(ctx, rv); err != nil {
		return nil, err
	}
	pid := encodePID(rv.id)
	if e.revs.enabled() {
		e.revs.put(revKey(pre, when, pid, rq.params, req.Chain), rv, time.Now())
	}
	id := strings.TrimSpace(rq.params["SignatureId"])
	if id == "" {
		id = newUUID()
	}
	sd := &trifirma.SignData{ID: id}
	sd.Set(trifirma.ParamPRE, trifirma.EncodeStd(pre))
	sd.Set(trifirma.ParamNeedPRE, "true")
	sd.Set(trifirma.ParamTime, strconv.FormatInt(when.UnixMilli(), 10))
	sd.Set(trifirma.ParamPID, trifirma.EncodeStd(pid))
	return &trifirma.TriphaseData{Signs: []*trifirma.SignData{sd}}, nil
}

// Postsign rebuilds the revision from the document, TIME and PID, checks that it is the one
// PRE commits to, and inserts the CMS. The result is one new buffer holding the document
// followed by the update; [Engine.PostsignIncremental] returns the same PDF without copying
// the document.
func (e *Engine) Postsign(ctx context.Context, req *trifirma.Request, session *trifirma.TriphaseData) ([]byte, error) {
	s, err := e.PostsignIncremental(ctx, req, session)
	if err != nil {
		return nil, err
	}
	return s.Bytes(), nil
}

// PostsignStream implements [trifirma.StreamingPostsigner]: it is [Engine.PostsignIncremental]
// (the result refers to req.Document, which must stay unchanged while it is used).
func (e *Engine) PostsignStream(ctx context.Context, req *trifirma.Request, session *trifirma.TriphaseData) (trifirma.Signature, error) {
	s, err := e.PostsignIncremental(ctx, req, session)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// PostsignIncremental is [Engine.Postsign] without the final copy: the signed PDF is returned
// as the caller's document followed by the incremental update that carries the signature
// (readable with io.ReaderAt, io.WriterTo or [Signed.Update]). The [Signed] value refers to
// req.Document, which must stay unchanged while it is used.
func (e *Engine) PostsignIncremental(ctx context.Context, req *trifirma.Request, session *trifirma.TriphaseData) (*Signed, error) {
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
	// PK1 must sign PRE: checked once, here, before the document is read. (Running it on
	// another core while the document is hashed was measured slower, twice: on this VM waking
	// the other core and sharing it costs more than the check.)
	if err := trifirma.VerifySignature(req.Chain[0], req.Algorithm, pre, pk1); err != nil {
		return nil, err
	}
	// The update presign prepared for these inputs, if this engine still has it; otherwise the
	// revision is rebuilt from the document. Either way the document and the update must hash
	// to the digest PRE commits to. (A kept update that does not is not rebuilt: the rebuild
	// from the same inputs writes the same update, so only another document could differ, and
	// PRE does not commit to it.)
	var rv *revision
	if e.revs.enabled() {
		rv = e.revs.get(revKey(pre, when, pidText, rq.params, req.Chain), req.Document, time.Now())
	}
	cached := rv != nil
	if !cached {
		if rv, err = build(ctx, &buildInput{doc: req.Document, params: rq.params, opts: rq.opts, chain: req.Chain,
			when: when, id: id, reserved: rq.reserved, loc: e.loc}); err != nil {
			return nil, err
		}
	}
	attrs, err := rq.signedAttributes(rv.digest(req.Algorithm.Hash))
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(attrs, pre) {
		return nil, fmt.Errorf("%w: PRE does not match the revision of this document, TIME and PID (different document, parameters or certificate)", trifirma.ErrInvalidSession)
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
	rv.insert(cmsDER)
	// A cached update was read back by presign; the hex of the CMS filled its placeholder
	// without moving a byte.
	if !cached {
		if err := selfCheck(ctx, rv); err != nil {
			return nil, err
		}
	}
	return &Signed{doc: rv.doc, upd: rv.upd}, nil
}

// selfCheck reads the update back as a reader of the signed file would, without re-reading
// the document: the update's cross-reference section must parse, chain to the document's and
// place every new object where it is, and the ByteRange must frame /Contents and end with the
// file. The cost is proportional to the update, not to the document.
func selfCheck(ctx context.Context, rv *revision) error {
	if err := rv.r.VerifyUpdate(ctx, rv.upd); err != nil {
		return fmt.Errorf("%w: the signed PDF does not read back: %v", trifirma.ErrInvalidDocument, err)
	}
	br := rv.byteRange()
	if br[2]+br[3] != int64(len(rv.doc)+len(rv.upd)) || rv.upd[rv.cStart] != '<' || rv.upd[rv.cEnd-1] != '>' {
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
