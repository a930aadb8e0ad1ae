package cades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/cms"
	"github.com/trifirma/trifirma/policy"
	"github.com/trifirma/trifirma/tsa"
)

// TSAFunc chooses the time-stamping client for a postsign. It is called for every postsign with
// the expanded extra parameters; it returns nil (and no error) when the signature gets no
// time-stamp. Typical implementations honour tsaURL only for an allow-list of services, or
// always stamp with the server's own TSA.
type TSAFunc func(ctx context.Context, p trifirma.Params) (*tsa.Client, error)

// Config configures an [Engine]. The zero Config behaves as the reference, except that a tsaURL
// extra parameter is refused (see TSA).
type Config struct {
	// TSA, when set, selects the time-stamping client of each postsign (CAdES-T: a
	// signature-time-stamp over each new signature value). When nil, a request carrying tsaURL
	// fails with [trifirma.ErrInvalidParams] instead of making the server contact a URL chosen by
	// the client.
	TSA TSAFunc
	// Logger receives warnings; nil means slog.Default().
	Logger *slog.Logger
}

// AllowTSA returns a [TSAFunc] that honours the tsa* extra parameters ([tsa.FromParams]) when
// tsaURL is one of urls (exact match) and refuses any other tsaURL. base, when not nil, supplies
// the HTTP client, timeout, response limit and roots of every client.
func AllowTSA(base *tsa.Client, urls ...string) TSAFunc {
	return func(_ context.Context, p trifirma.Params) (*tsa.Client, error) {
		c, err := tsa.FromParams(p)
		if err != nil || c == nil {
			return nil, err
		}
		allowed := false
		for _, u := range urls {
			if u == c.URL {
				allowed = true
			}
		}
		if !allowed {
			return nil, fmt.Errorf("%w: %s %q is not an allowed time-stamping service", trifirma.ErrInvalidParams, tsa.ParamURL, c.URL)
		}
		if base != nil {
			c.HTTPClient, c.Timeout, c.MaxResponseSize, c.Roots = base.HTTPClient, base.Timeout, base.MaxResponseSize, base.Roots
		}
		return c, nil
	}
}

// Engine is the CAdES [trifirma.Engine]. It is safe for concurrent use.
type Engine struct {
	cfg Config
}

var _ trifirma.Engine = (*Engine)(nil)

// New returns a CAdES engine.
func New(cfg Config) *Engine { return &Engine{cfg: cfg} }

func (e *Engine) log() *slog.Logger {
	if e.cfg.Logger != nil {
		return e.cfg.Logger
	}
	return slog.Default()
}

// prepared is what both phases derive from a request.
type prepared struct {
	op       trifirma.Operation
	params   trifirma.Params
	alg      trifirma.SignatureAlgorithm
	signer   *x509.Certificate
	attached bool
	precalc  bool
}

func (e *Engine) prepare(req *trifirma.Request) (*prepared, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil request", trifirma.ErrInvalidParams)
	}
	switch req.Format {
	case "", trifirma.FormatCAdES:
	default:
		return nil, fmt.Errorf("%w: the CAdES engine does not produce %s", trifirma.ErrUnsupportedFormat, req.Format)
	}
	op := req.Operation
	if op == "" {
		op = trifirma.OpSign
	}
	switch op {
	case trifirma.OpSign, trifirma.OpCoSign, trifirma.OpCounterSign:
	default:
		return nil, fmt.Errorf("%w: %q", trifirma.ErrUnsupportedOperation, op)
	}
	params, err := policy.Expand(req.Params, trifirma.FormatCAdES, op, policy.DataSizeUnknown)
	if err != nil {
		return nil, err
	}
	signer, err := req.Signer()
	if err != nil {
		return nil, err
	}
	alg := req.Algorithm
	if !supportedHash(alg.Hash) {
		return nil, fmt.Errorf("%w: digest %v", trifirma.ErrUnsupportedAlgorithm, alg.Hash)
	}
	kt, err := trifirma.KeyTypeOf(signer.PublicKey)
	if err != nil {
		return nil, err
	}
	if kt != alg.Key {
		return nil, fmt.Errorf("%w: %s with a %s certificate", trifirma.ErrUnsupportedAlgorithm, alg, kt)
	}
	p := &prepared{op: op, params: params, alg: alg, signer: signer}
	switch m := strings.ToLower(strings.TrimSpace(params[ParamMode])); m {
	case "", "explicit":
	case "implicit":
		p.attached = true
	default:
		return nil, invalidParams("%s=%q (implicit or explicit)", ParamMode, params[ParamMode])
	}
	if v := strings.TrimSpace(params[ParamPrecalculatedHash]); v != "" && op == trifirma.OpSign {
		h, err := trifirma.ParseDigest(v)
		if err != nil {
			return nil, invalidParams("%s: %v", ParamPrecalculatedHash, err)
		}
		if h != alg.Hash {
			return nil, invalidParams("%s=%s differs from the signature digest %s", ParamPrecalculatedHash, v, trifirma.DigestName(alg.Hash))
		}
		if p.attached {
			return nil, invalidParams("%s cannot be combined with mode=implicit: the document is a digest, not the content", ParamPrecalculatedHash)
		}
		p.precalc = true
	}
	return p, nil
}

func (p *prepared) attributeOptions(profile Profile, md []byte, req *trifirma.Request) (*AttributeOptions, error) {
	o, err := OptionsFromParams(p.params, profile)
	if err != nil {
		return nil, err
	}
	o.Hash, o.MessageDigest, o.Signer = p.alg.Hash, md, p.signer
	if p.params.Bool(ParamIncludeSigningTime, true) {
		o.SigningTime = req.SigningTime()
	}
	return o, nil
}

func (p *prepared) signatureID() string {
	if id := strings.TrimSpace(p.params[ParamSignatureID]); id != "" {
		return id
	}
	return trifirma.NewUUID()
}

// Presign computes the signed attributes of every signature the device must make.
func (e *Engine) Presign(ctx context.Context, req *trifirma.Request) (*trifirma.TriphaseData, error) {
	p, err := e.prepare(req)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch p.op {
	case trifirma.OpSign:
		return e.presignSign(p, req)
	case trifirma.OpCoSign:
		return e.presignCosign(p, req)
	default:
		return e.presignCountersign(p, req)
	}
}

func (e *Engine) presignSign(p *prepared, req *trifirma.Request) (*trifirma.TriphaseData, error) {
	var md []byte
	if p.precalc {
		if len(req.Document) != p.alg.Hash.Size() {
			return nil, fmt.Errorf("%w: with %s the document must be a %d-byte digest, got %d bytes", trifirma.ErrInvalidDocument, ParamPrecalculatedHash, p.alg.Hash.Size(), len(req.Document))
		}
		md = bytes.Clone(req.Document)
	} else {
		md = digestOf(p.alg.Hash, req.Document)
	}
	o, err := p.attributeOptions(ProfileCAdES, md, req)
	if err != nil {
		return nil, err
	}
	pre, err := SignedAttributes(o)
	if err != nil {
		return nil, err
	}
	sd := &trifirma.SignData{ID: p.signatureID()}
	sd.Set(trifirma.ParamPRE, trifirma.EncodeStd(pre))
	sd.Set(trifirma.ParamNeedPRE, "true")
	if p.attached {
		sd.Set(trifirma.ParamNeedData, "true")
	}
	return &trifirma.TriphaseData{Signs: []*trifirma.SignData{sd}}, nil
}

// parseExisting parses the signature to co-sign or countersign and applies the LTS and
// checkSignatures rules.
func (e *Engine) parseExisting(p *prepared, doc []byte) (*cms.SignedData, error) {
	if len(doc) == 0 {
		return nil, fmt.Errorf("%w: no signature to %s", trifirma.ErrInvalidDocument, p.op)
	}
	sd, err := cms.ParseSignedData(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: not a CMS SignedData: %v", trifirma.ErrInvalidDocument, err)
	}
	if len(sd.SignerInfos) == 0 {
		return nil, fmt.Errorf("%w: the SignedData has no signer", trifirma.ErrInvalidDocument)
	}
	if isLTS(sd) && !p.params.Bool(ParamAllowSignLTS, false) {
		return nil, trifirma.NeedConfig(p.params, trifirma.NeedSigningLTS, ParamAllowSignLTS,
			"the signature carries long-term validation data (archive time-stamps or validation values) that a new signature would invalidate")
	}
	if p.params.Bool(ParamCheckSignatures, false) {
		if err := verifyExisting(sd); err != nil {
			return nil, err
		}
	}
	return sd, nil
}

func isLTS(sd *cms.SignedData) bool {
	found := false
	_ = sd.Walk(func(si *cms.SignerInfo, _ int) error {
		for _, a := range si.UnsignedAttrs {
			for _, t := range cms.LTSAttributes {
				if a.Type.Equal(t) {
					found = true
				}
			}
		}
		return nil
	})
	return found
}

// verifyExisting checks every SignerInfo of the tree: its certificate is in the SignedData, its
// signature verifies, and its message digest matches the content (top-level signers, when
// attached) or the parent's signature value (countersignatures).
func verifyExisting(sd *cms.SignedData) error {
	certs := sd.ParsedCertificates()
	var check func(si *cms.SignerInfo, parent *cms.SignerInfo) error
	check = func(si *cms.SignerInfo, parent *cms.SignerInfo) error {
		cert, ok := si.FindCertificate(certs)
		if !ok {
			return fmt.Errorf("%w: the certificate of an existing signer is not in the signature", trifirma.ErrInvalidDocument)
		}
		if err := si.VerifySignature(cert); err != nil {
			return fmt.Errorf("%w: existing signature of %s: %v", trifirma.ErrInvalidDocument, cert.Subject.CommonName, err)
		}
		md, ok := si.MessageDigest()
		h := si.DigestHash()
		if !ok || h == 0 {
			return fmt.Errorf("%w: existing signer %s has no usable message digest", trifirma.ErrInvalidDocument, cert.Subject.CommonName)
		}
		switch {
		case parent != nil:
			if !bytes.Equal(md, digestOf(h, parent.Signature)) {
				return fmt.Errorf("%w: countersignature of %s does not match its parent", trifirma.ErrInvalidDocument, cert.Subject.CommonName)
			}
		case sd.HasContent:
			if !bytes.Equal(md, sd.ContentHash(h)) {
				return fmt.Errorf("%w: existing signature of %s does not match the content", trifirma.ErrInvalidDocument, cert.Subject.CommonName)
			}
		}
		for _, c := range si.CounterSignatures {
			if err := check(c, si); err != nil {
				return err
			}
		}
		return nil
	}
	for _, si := range sd.SignerInfos {
		if err := check(si, nil); err != nil {
			return err
		}
	}
	return nil
}

// cosignDigest returns the message digest a co-signature with h commits to.
func cosignDigest(sd *cms.SignedData, h crypto.Hash) ([]byte, error) {
	if sd.HasContent {
		return sd.ContentHash(h), nil
	}
	for _, si := range sd.SignerInfos {
		if si.DigestHash() != h {
			continue
		}
		if md, ok := si.MessageDigest(); ok && len(md) == h.Size() {
			return bytes.Clone(md), nil
		}
	}
	return nil, fmt.Errorf("%w: the signature is detached and no existing signer used %s, so the digest of the signed data is unknown; co-sign with the digest algorithm of an existing signer",
		trifirma.ErrInvalidDocument, trifirma.DigestName(h))
}

func (e *Engine) presignCosign(p *prepared, req *trifirma.Request) (*trifirma.TriphaseData, error) {
	sd, err := e.parseExisting(p, req.Document)
	if err != nil {
		return nil, err
	}
	md, err := cosignDigest(sd, p.alg.Hash)
	if err != nil {
		return nil, err
	}
	o, err := p.attributeOptions(ProfileCAdES, md, req)
	if err != nil {
		return nil, err
	}
	o.ContentType = sd.EContentType
	pre, err := SignedAttributes(o)
	if err != nil {
		return nil, err
	}
	s := &trifirma.SignData{ID: p.signatureID()}
	s.Set(trifirma.ParamPRE, trifirma.EncodeStd(pre))
	s.Set(trifirma.ParamNeedData, "true")
	s.Set(trifirma.ParamNeedPRE, "true")
	return &trifirma.TriphaseData{Signs: []*trifirma.SignData{s}}, nil
}

// Countersignature targets.
const (
	TargetLeafs = "leafs"
	TargetTree  = "tree"
)

// targets returns the SignerInfos to countersign, in pre-order.
func targets(sd *cms.SignedData, params trifirma.Params) ([]*cms.SignerInfo, error) {
	t := strings.ToLower(strings.TrimSpace(params[ParamTarget]))
	if t == "" {
		t = TargetLeafs
	}
	if t != TargetLeafs && t != TargetTree {
		return nil, invalidParams("%s=%q (the triphase protocol supports %s and %s)", ParamTarget, params[ParamTarget], TargetLeafs, TargetTree)
	}
	var out []*cms.SignerInfo
	_ = sd.Walk(func(si *cms.SignerInfo, _ int) error {
		if t == TargetTree || len(si.CounterSignatures) == 0 {
			out = append(out, si)
		}
		return nil
	})
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no signer to countersign", trifirma.ErrInvalidDocument)
	}
	return out, nil
}

// TargetID returns the session Id of a countersignature target: standard Base64 of SHA-256 of
// its signature value (the reference's rule).
func TargetID(signatureValue []byte) string {
	s := sha256.Sum256(signatureValue)
	return trifirma.EncodeStd(s[:])
}

func (e *Engine) presignCountersign(p *prepared, req *trifirma.Request) (*trifirma.TriphaseData, error) {
	sd, err := e.parseExisting(p, req.Document)
	if err != nil {
		return nil, err
	}
	tg, err := targets(sd, p.params)
	if err != nil {
		return nil, err
	}
	signid := p.signatureID()
	td := &trifirma.TriphaseData{}
	seen := map[string]bool{}
	for _, t := range tg {
		id := TargetID(t.Signature)
		if seen[id] {
			continue // identical signature values: one firma serves both
		}
		seen[id] = true
		o, err := p.attributeOptions(ProfileCounterSignature, digestOf(p.alg.Hash, t.Signature), req)
		if err != nil {
			return nil, err
		}
		pre, err := SignedAttributes(o)
		if err != nil {
			return nil, err
		}
		s := &trifirma.SignData{ID: id, SignID: signid}
		s.Set(trifirma.ParamPRE, trifirma.EncodeStd(pre))
		s.Set(trifirma.ParamNeedPRE, "true")
		td.Signs = append(td.Signs, s)
	}
	return td, nil
}

// Postsign assembles the final signature from the session's PRE and PK1 values.
func (e *Engine) Postsign(ctx context.Context, req *trifirma.Request, session *trifirma.TriphaseData) ([]byte, error) {
	p, err := e.prepare(req)
	if err != nil {
		return nil, err
	}
	if session == nil || len(session.Signs) == 0 {
		return nil, fmt.Errorf("%w: the session has no firma", trifirma.ErrInvalidSession)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tc, err := e.tsaClient(ctx, p.params)
	if err != nil {
		return nil, err
	}
	switch p.op {
	case trifirma.OpSign:
		return e.postsignSign(ctx, p, req, session, tc)
	case trifirma.OpCoSign:
		return e.postsignCosign(ctx, p, req, session, tc)
	default:
		return e.postsignCountersign(ctx, p, req, session, tc)
	}
}

func (e *Engine) tsaClient(ctx context.Context, params trifirma.Params) (*tsa.Client, error) {
	if e.cfg.TSA == nil {
		if strings.TrimSpace(params[tsa.ParamURL]) != "" {
			return nil, fmt.Errorf("%w: %s is set but time-stamping is not enabled on this server (cades.Config.TSA)", trifirma.ErrInvalidParams, tsa.ParamURL)
		}
		return nil, nil
	}
	return e.cfg.TSA(ctx, params)
}

// signed is one checked PRE with its PK1.
type signed struct {
	pre, pk1 []byte
	attrs    []Attribute
	md       []byte
}

// checkSign parses and checks one firma: PRE strictly, the signing certificate, the message
// digest size, the content type (wantCT nil: must be absent) and the PK1 value.
func checkSign(p *prepared, s *trifirma.SignData, wantCT asn1.ObjectIdentifier) (*signed, error) {
	pre, err := s.Bytes(trifirma.ParamPRE)
	if err != nil {
		return nil, err
	}
	pk1, err := s.Bytes(trifirma.ParamPK1)
	if err != nil {
		return nil, err
	}
	attrs, err := ParseSignedAttributes(pre)
	if err != nil {
		return nil, err
	}
	md, _ := cms.MessageDigestOf(attrs)
	if len(md) != p.alg.Hash.Size() {
		return nil, fmt.Errorf("%w: PRE message-digest has %d bytes, %s has %d", trifirma.ErrInvalidSession, len(md), trifirma.DigestName(p.alg.Hash), p.alg.Hash.Size())
	}
	ct, hasCT := cms.ContentTypeOf(attrs)
	ctPresent := false
	for _, a := range attrs {
		if a.Type.Equal(cms.OIDAttrContentType) {
			ctPresent = true
		}
	}
	switch {
	case wantCT == nil && ctPresent:
		return nil, fmt.Errorf("%w: a countersignature PRE carries content-type", trifirma.ErrInvalidSession)
	case wantCT != nil && !hasCT:
		return nil, fmt.Errorf("%w: PRE has no content-type", trifirma.ErrInvalidSession)
	case wantCT != nil && !ct.Equal(wantCT):
		return nil, fmt.Errorf("%w: PRE content-type %v, the signed content is %v", trifirma.ErrInvalidSession, ct, wantCT)
	}
	if err := checkSigningCertificate(attrs, p.signer); err != nil {
		return nil, err
	}
	if err := trifirma.VerifySignature(p.signer, p.alg, pre, pk1); err != nil {
		return nil, err
	}
	return &signed{pre: pre, pk1: pk1, attrs: attrs, md: md}, nil
}

func onlySign(td *trifirma.TriphaseData) (*trifirma.SignData, error) {
	if len(td.Signs) != 1 {
		return nil, fmt.Errorf("%w: expected one firma, the session has %d", trifirma.ErrInvalidSession, len(td.Signs))
	}
	return td.Signs[0], nil
}

func (e *Engine) signerInfo(ctx context.Context, p *prepared, s *signed, tc *tsa.Client) ([]byte, error) {
	var unsigned []Attribute
	if tc != nil {
		a, err := TimestampAttribute(ctx, tc, s.pk1)
		if err != nil {
			return nil, err
		}
		unsigned = append(unsigned, a)
	}
	return BuildSignerInfo(p.signer, p.alg, s.pre, s.pk1, unsigned)
}

func (p *prepared) certificates(req *trifirma.Request) []*x509.Certificate {
	if p.params.Bool(ParamOnlySigningCertificate, false) {
		return []*x509.Certificate{p.signer}
	}
	return req.Chain
}

var errDigestMismatch = errors.New("the document's digest differs from the message-digest the session was presigned with")

func (e *Engine) postsignSign(ctx context.Context, p *prepared, req *trifirma.Request, td *trifirma.TriphaseData, tc *tsa.Client) ([]byte, error) {
	sdata, err := onlySign(td)
	if err != nil {
		return nil, err
	}
	if nd, ok := sdata.Get(trifirma.ParamNeedData); ok && strings.EqualFold(nd, "true") != p.attached {
		return nil, fmt.Errorf("%w: the session was presigned for mode=%s", trifirma.ErrInvalidSession, map[bool]string{true: "implicit", false: "explicit"}[!p.attached])
	}
	s, err := checkSign(p, sdata, cms.OIDData)
	if err != nil {
		return nil, err
	}
	if p.attached {
		// The embedded content must be what PRE commits to. Detached signatures never read
		// the document.
		if !bytes.Equal(digestOf(p.alg.Hash, req.Document), s.md) {
			return nil, fmt.Errorf("%w: %v", trifirma.ErrSessionTampered, errDigestMismatch)
		}
	}
	si, err := e.signerInfo(ctx, p, s, tc)
	if err != nil {
		return nil, err
	}
	sd := cms.NewSignedData(cms.OIDData, req.Document, p.attached)
	if err := sd.AddDigestAlgorithm(p.alg.Hash); err != nil {
		return nil, err
	}
	sd.AddCertificates(p.certificates(req)...)
	sd.AddSignerInfo(si)
	return sd.Encode(), nil
}

func (e *Engine) postsignCosign(ctx context.Context, p *prepared, req *trifirma.Request, td *trifirma.TriphaseData, tc *tsa.Client) ([]byte, error) {
	sd, err := e.parseExisting(p, req.Document)
	if err != nil {
		return nil, err
	}
	sdata, err := onlySign(td)
	if err != nil {
		return nil, err
	}
	s, err := checkSign(p, sdata, sd.EContentType)
	if err != nil {
		return nil, err
	}
	if sd.HasContent {
		if !bytes.Equal(sd.ContentHash(p.alg.Hash), s.md) {
			return nil, fmt.Errorf("%w: the content of the signature differs from the one presigned", trifirma.ErrSessionTampered)
		}
	} else {
		match := false
		for _, si := range sd.SignerInfos {
			if md, ok := si.MessageDigest(); ok && si.DigestHash() == p.alg.Hash && bytes.Equal(md, s.md) {
				match = true
			}
		}
		if !match {
			return nil, fmt.Errorf("%w: no existing signer of the detached signature signed the digest in PRE", trifirma.ErrSessionTampered)
		}
	}
	si, err := e.signerInfo(ctx, p, s, tc)
	if err != nil {
		return nil, err
	}
	if err := sd.AddDigestAlgorithm(p.alg.Hash); err != nil {
		return nil, err
	}
	sd.AddCertificates(p.certificates(req)...)
	sd.AddSignerInfo(si)
	return sd.Encode(), nil
}

func (e *Engine) postsignCountersign(ctx context.Context, p *prepared, req *trifirma.Request, td *trifirma.TriphaseData, tc *tsa.Client) ([]byte, error) {
	sd, err := e.parseExisting(p, req.Document)
	if err != nil {
		return nil, err
	}
	tg, err := targets(sd, p.params)
	if err != nil {
		return nil, err
	}
	byID := map[string]*trifirma.SignData{}
	for _, s := range td.Signs {
		if _, dup := byID[s.ID]; !dup {
			byID[s.ID] = s
		}
	}
	done := map[string][]byte{}
	for _, t := range tg {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id := TargetID(t.Signature)
		si, ok := done[id]
		if !ok {
			sdata, found := byID[id]
			if !found {
				return nil, fmt.Errorf("%w: no presign data for the countersignature target %s", trifirma.ErrInvalidSession, id)
			}
			s, err := checkSign(p, sdata, nil)
			if err != nil {
				return nil, err
			}
			if !bytes.Equal(digestOf(p.alg.Hash, t.Signature), s.md) {
				return nil, fmt.Errorf("%w: PRE of target %s does not commit to its signature value", trifirma.ErrSessionTampered, id)
			}
			if si, err = e.signerInfo(ctx, p, s, tc); err != nil {
				return nil, err
			}
			done[id] = si
		}
		t.AddCounterSignature(si)
	}
	if len(done) < len(td.Signs) {
		e.log().Warn("CAdES countersign: session firmas without a matching target were ignored", "firmas", len(td.Signs), "targets", len(done))
	}
	sd.AddCertificates(p.certificates(req)...)
	return sd.Encode(), nil
}
