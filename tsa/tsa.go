// Package tsa is an RFC 3161 time-stamping client: it sends a TimeStampReq over HTTP POST
// (application/timestamp-query), with a random nonce and an optional policy, and checks the
// response before handing out its token: status granted, message imprint and nonce equal to the
// request's, policy as requested, and a TSA signature that verifies with the TSA certificate of
// the token (extended key usage timeStamping). Responses are bounded in size and time.
//
// The CAdES engine uses it for CAdES-T (a signature-time-stamp over the signature value).
package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/cms"
)

// ErrTimestamp reports a failed time-stamp request or an unacceptable response.
var ErrTimestamp = errors.New("tsa: time-stamp failed")

// Defaults of [Client].
const (
	DefaultTimeout         = 30 * time.Second
	DefaultMaxResponseSize = 1 << 20
)

// Extra parameter names read by [FromParams].
const (
	ParamURL           = "tsaURL"
	ParamPolicy        = "tsaPolicy"
	ParamHashAlgorithm = "tsaHashAlgorithm"
	ParamRequireCert   = "tsaRequireCert"
	ParamUser          = "tsaUsr"
	ParamPassword      = "tsaPwd"
)

// Client requests time-stamps from one TSA. The zero value is not usable: URL is required.
// A Client is safe for concurrent use.
type Client struct {
	// URL is the TSA's HTTP(S) endpoint.
	URL string
	// Hash is the digest of the message imprint; zero means SHA-512.
	Hash crypto.Hash
	// Policy is the requested TSA policy (reqPolicy); nil requests none. When set, the
	// response must carry it.
	Policy asn1.ObjectIdentifier
	// NoCertReq clears certReq, so the TSA may leave its certificate out of the token
	// (tsaRequireCert=false). The token's signature is then not verified here.
	NoCertReq bool
	// Username and Password, when Username is set, are sent with HTTP basic authentication.
	Username, Password string
	// HTTPClient is used for the request; nil means a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds the whole exchange; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxResponseSize bounds the response body; zero means DefaultMaxResponseSize.
	MaxResponseSize int64
	// Roots, when set, must validate the TSA certificate (intermediates from the token).
	Roots *x509.CertPool
}

// Token is a verified time-stamp token.
type Token struct {
	// DER is the TimeStampToken (a ContentInfo holding a SignedData over a TSTInfo).
	DER          []byte
	GenTime      time.Time
	SerialNumber *big.Int
	Policy       asn1.ObjectIdentifier
	Hash         crypto.Hash
	Digest       []byte
	Nonce        *big.Int
	// Certificate is the TSA certificate, nil when the token does not carry it.
	Certificate *x509.Certificate
}

// FromParams builds a client from the tsaURL, tsaPolicy, tsaHashAlgorithm, tsaRequireCert,
// tsaUsr and tsaPwd extra parameters, or returns nil when tsaURL is absent. It does not decide
// whether the URL may be contacted: servers restrict that (see cades.Config.TSA). Errors wrap
// [trifirma.ErrInvalidParams].
func FromParams(p trifirma.Params) (*Client, error) {
	u := strings.TrimSpace(p[ParamURL])
	if u == "" {
		return nil, nil
	}
	c := &Client{URL: u, Username: p[ParamUser], Password: p[ParamPassword], NoCertReq: !p.Bool(ParamRequireCert, true)}
	if v := strings.TrimSpace(p[ParamHashAlgorithm]); v != "" {
		h, err := trifirma.ParseDigest(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", trifirma.ErrInvalidParams, ParamHashAlgorithm, err)
		}
		c.Hash = h
	}
	if v := strings.TrimSpace(p[ParamPolicy]); v != "" {
		oid, err := parseOID(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s=%q is not an OID", trifirma.ErrInvalidParams, ParamPolicy, v)
		}
		c.Policy = oid
	}
	return c, nil
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "urn:oid:")
	var oid asn1.ObjectIdentifier
	for p := range strings.SplitSeq(s, ".") {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 0 || fmt.Sprint(n) != p {
			return nil, fmt.Errorf("bad OID %q", s)
		}
		oid = append(oid, n)
	}
	if _, err := asn1.Marshal(oid); err != nil || len(oid) < 2 {
		return nil, fmt.Errorf("bad OID %q", s)
	}
	return oid, nil
}

func (c *Client) hash() crypto.Hash {
	if c.Hash == 0 {
		return crypto.SHA512
	}
	return c.Hash
}

func fail(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrTimestamp}, a...)...)
}

// Timestamp requests a time-stamp over data (hashed with the client's digest).
func (c *Client) Timestamp(ctx context.Context, data []byte) (*Token, error) {
	h := c.hash()
	if !h.Available() {
		return nil, fail("digest %v unavailable", h)
	}
	d := h.New()
	d.Write(data)
	return c.TimestampDigest(ctx, h, d.Sum(nil))
}

// TimestampDigest requests a time-stamp over a precomputed digest.
func (c *Client) TimestampDigest(ctx context.Context, h crypto.Hash, digest []byte) (*Token, error) {
	if c.URL == "" {
		return nil, fail("no TSA URL")
	}
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fail("nonce: %v", err)
	}
	req, err := Request(h, digest, nonce, c.Policy, !c.NoCertReq)
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(req))
	if err != nil {
		return nil, fail("request: %v", err)
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	hr.Header.Set("Accept", "application/timestamp-reply")
	if c.Username != "" {
		hr.SetBasicAuth(c.Username, c.Password)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: timeout}
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fail("%v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fail("TSA answered HTTP %d", resp.StatusCode)
	}
	limit := c.MaxResponseSize
	if limit <= 0 {
		limit = DefaultMaxResponseSize
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fail("reading response: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, fail("response exceeds %d bytes", limit)
	}
	return c.check(body, h, digest, nonce)
}

// Request returns the DER TimeStampReq (version 1) for a digest.
func Request(h crypto.Hash, digest []byte, nonce *big.Int, policy asn1.ObjectIdentifier, certReq bool) ([]byte, error) {
	alg, err := cms.DigestAlgorithm(h)
	if err != nil {
		return nil, fail("%v", err)
	}
	if len(digest) != h.Size() {
		return nil, fail("digest of %d bytes for %v", len(digest), h)
	}
	var pol, n, cr *cms.Elem
	if policy != nil {
		pol = cms.OIDElem(policy)
	}
	if nonce != nil {
		b, err := asn1.Marshal(nonce)
		if err != nil {
			return nil, fail("nonce: %v", err)
		}
		n = cms.Raw(b)
	}
	if certReq {
		cr = cms.Raw([]byte{0x01, 0x01, 0xff})
	}
	return cms.Seq(
		cms.Raw([]byte{cms.TagInteger, 1, 1}),
		cms.Seq(cms.Raw(alg), cms.OctetString(digest)),
		pol, n, cr,
	).Bytes(), nil
}

func (c *Client) check(body []byte, h crypto.Hash, digest []byte, nonce *big.Int) (*Token, error) {
	tokDER, err := ParseResponse(body)
	if err != nil {
		return nil, err
	}
	tok, err := ParseToken(tokDER, !c.NoCertReq)
	if err != nil {
		return nil, err
	}
	if tok.Hash != h || !bytes.Equal(tok.Digest, digest) {
		return nil, fail("the token's message imprint is not the requested one")
	}
	if nonce != nil && (tok.Nonce == nil || tok.Nonce.Cmp(nonce) != 0) {
		return nil, fail("the token's nonce is not the requested one")
	}
	if c.Policy != nil && !tok.Policy.Equal(c.Policy) {
		return nil, fail("the token's policy %v is not the requested %v", tok.Policy, c.Policy)
	}
	if c.Roots != nil {
		if tok.Certificate == nil {
			return nil, fail("the token has no TSA certificate to validate")
		}
		sd, _ := cms.ParseSignedData(tok.DER)
		inter := x509.NewCertPool()
		for _, x := range sd.ParsedCertificates() {
			inter.AddCert(x)
		}
		if _, err := tok.Certificate.Verify(x509.VerifyOptions{Roots: c.Roots, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}, CurrentTime: tok.GenTime}); err != nil {
			return nil, fail("TSA certificate: %v", err)
		}
	}
	return tok, nil
}

// ParseResponse parses a DER TimeStampResp and returns its token when the status is granted
// (0) or grantedWithMods (1).
func ParseResponse(body []byte) ([]byte, error) {
	s := cryptobyte.String(body)
	var resp, status cryptobyte.String
	var code int
	if !s.ReadASN1(&resp, cbasn1.SEQUENCE) || !s.Empty() || !resp.ReadASN1(&status, cbasn1.SEQUENCE) || !status.ReadASN1Integer(&code) {
		return nil, fail("malformed TimeStampResp")
	}
	if code != 0 && code != 1 {
		var text string
		var st cryptobyte.String
		if status.ReadASN1(&st, cbasn1.SEQUENCE) {
			var u cryptobyte.String
			if st.ReadASN1(&u, cbasn1.UTF8String) {
				text = ": " + string(u)
			}
		}
		return nil, fail("TSA refused the request (status %d%s)", code, text)
	}
	var tok cryptobyte.String
	if !resp.ReadASN1Element(&tok, cbasn1.SEQUENCE) || !resp.Empty() {
		return nil, fail("TimeStampResp granted without a token")
	}
	return tok, nil
}

// ParseToken parses and verifies a TimeStampToken: a SignedData with one SignerInfo over an
// id-ct-TSTInfo. With requireCert, the TSA certificate must be in the token and the signature,
// message digest, content type and the certificate's timeStamping usage are verified.
func ParseToken(der []byte, requireCert bool) (*Token, error) {
	sd, err := cms.ParseSignedData(der)
	if err != nil {
		return nil, fail("token: %v", err)
	}
	if !sd.EContentType.Equal(cms.OIDTSTInfo) || !sd.HasContent {
		return nil, fail("token does not hold a TSTInfo")
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fail("token has %d signers", len(sd.SignerInfos))
	}
	var info []byte
	for _, p := range sd.Content {
		info = append(info, p...)
	}
	tok := &Token{DER: der}
	if err := parseTSTInfo(info, tok); err != nil {
		return nil, err
	}
	si := sd.SignerInfos[0]
	cert, ok := si.FindCertificate(sd.ParsedCertificates())
	if !ok {
		if requireCert {
			return nil, fail("token does not carry the TSA certificate")
		}
		return tok, nil
	}
	tok.Certificate = cert
	md, ok := si.MessageDigest()
	h := si.DigestHash()
	if !ok || h == 0 {
		return nil, fail("token SignerInfo has no usable message digest")
	}
	d := h.New()
	d.Write(info)
	if !bytes.Equal(d.Sum(nil), md) {
		return nil, fail("token message digest does not match its TSTInfo")
	}
	if ct, ok := cms.ContentTypeOf(si.SignedAttrs); !ok || !ct.Equal(cms.OIDTSTInfo) {
		return nil, fail("token content-type attribute is not id-ct-TSTInfo")
	}
	if err := si.VerifySignature(cert); err != nil {
		return nil, fail("token signature: %v", err)
	}
	hasEKU := false
	for _, u := range cert.ExtKeyUsage {
		if u == x509.ExtKeyUsageTimeStamping {
			hasEKU = true
		}
	}
	if !hasEKU {
		return nil, fail("TSA certificate lacks the timeStamping extended key usage")
	}
	return tok, nil
}

func parseTSTInfo(b []byte, tok *Token) error {
	s := cryptobyte.String(b)
	var info, imprint, alg cryptobyte.String
	var version int
	var oid asn1.ObjectIdentifier
	var hashed cryptobyte.String
	if !s.ReadASN1(&info, cbasn1.SEQUENCE) || !s.Empty() ||
		!info.ReadASN1Integer(&version) || version != 1 ||
		!info.ReadASN1ObjectIdentifier(&tok.Policy) ||
		!info.ReadASN1(&imprint, cbasn1.SEQUENCE) ||
		!imprint.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) ||
		!imprint.ReadASN1(&hashed, cbasn1.OCTET_STRING) {
		return fail("malformed TSTInfo")
	}
	tok.Hash = cms.HashFromOID(oid)
	tok.Digest = hashed
	tok.SerialNumber = new(big.Int)
	if !info.ReadASN1Integer(tok.SerialNumber) || !info.ReadASN1GeneralizedTime(&tok.GenTime) {
		// cryptobyte's GeneralizedTime reader rejects fractional seconds; accept them.
		return parseTSTInfoLenient(b, tok)
	}
	return parseTSTInfoTail(info, tok)
}

func parseTSTInfoTail(info cryptobyte.String, tok *Token) error {
	if info.PeekASN1Tag(cbasn1.SEQUENCE) { // accuracy
		info.SkipASN1(cbasn1.SEQUENCE)
	}
	if info.PeekASN1Tag(cbasn1.BOOLEAN) { // ordering
		info.SkipASN1(cbasn1.BOOLEAN)
	}
	if info.PeekASN1Tag(cbasn1.INTEGER) {
		tok.Nonce = new(big.Int)
		if !info.ReadASN1Integer(tok.Nonce) {
			return fail("malformed TSTInfo nonce")
		}
	}
	return nil
}

// parseTSTInfoLenient reads a TSTInfo with encoding/asn1, which accepts fractional seconds.
func parseTSTInfoLenient(b []byte, tok *Token) error {
	var ti struct {
		Version        int
		Policy         asn1.ObjectIdentifier
		MessageImprint struct {
			Alg struct {
				Algorithm asn1.ObjectIdentifier
				Params    asn1.RawValue `asn1:"optional"`
			}
			HashedMessage []byte
		}
		SerialNumber *big.Int
		GenTime      time.Time     `asn1:"generalized"`
		Accuracy     asn1.RawValue `asn1:"optional"`
		Ordering     bool          `asn1:"optional,default:false"`
		Nonce        *big.Int      `asn1:"optional"`
		TSA          asn1.RawValue `asn1:"optional,tag:0"`
		Extensions   asn1.RawValue `asn1:"optional,tag:1"`
	}
	rest, err := asn1.Unmarshal(b, &ti)
	if err != nil || len(rest) > 0 {
		return fail("malformed TSTInfo")
	}
	tok.SerialNumber, tok.GenTime, tok.Nonce = ti.SerialNumber, ti.GenTime, ti.Nonce
	return nil
}
