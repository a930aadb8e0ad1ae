// Package client plays the device side of the triphase protocol against any SignatureService
// (trifirma's or the reference's), the way AutoFirma does: it sends the presign request,
// computes the PKCS#1/ECDSA value of every PRE with a [crypto.Signer], and sends the postsign
// request. It is what `trifirma sign` uses to test a deployment end to end, and what the
// server's own tests use as the client.
package client

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/b64"
)

// MaxResponseSize bounds the responses the client reads (512 MiB).
const MaxResponseSize = 512 << 20

// ServerError is an ERR-n answer of the service.
type ServerError struct {
	// Code is the text before the first ':' ("ERR-9"); Requestor is the ERR-21 requestor code.
	Code, Requestor string
	// Body is the whole answer.
	Body string
}

func (e *ServerError) Error() string { return "client: server answered " + e.Body }

// Client talks to one SignatureService URL.
type Client struct {
	// URL of the service, e.g. http://127.0.0.1:8080/afirma-server-triphase-signer/SignatureService.
	URL string
	// HTTP is the HTTP client; nil means http.DefaultClient.
	HTTP *http.Client
}

// Request describes one signature.
type Request struct {
	Format    string // wire format name, e.g. "CAdES", "XAdES", "pades"
	Operation trifirma.Operation
	// Algorithm as sent in `algo` (e.g. "SHA256withRSA"); empty leaves it out.
	Algorithm string
	Params    trifirma.Params
	// Document is the data (or existing signature) to send as `doc`.
	Document []byte
}

// Sign runs presign, the device signature with signer, and postsign, returning the signature
// the service sent back inline (OK NEWID=<Base64>, as the default document manager does).
func (c *Client) Sign(ctx context.Context, r Request, signer crypto.Signer, chain []*x509.Certificate) ([]byte, error) {
	id, err := c.SignID(ctx, r, signer, chain)
	if err != nil {
		return nil, err
	}
	sig, err := b64.DecodeString(id)
	if err != nil {
		return nil, fmt.Errorf("client: the NEWID is not Base64: %w", err)
	}
	return sig, nil
}

// SignID is Sign returning the raw NEWID (for document managers whose id is not the signature).
func (c *Client) SignID(ctx context.Context, r Request, signer crypto.Signer, chain []*x509.Certificate) (string, error) {
	// The document travels in both requests: encode it once.
	doc := base64.URLEncoding.AppendEncode(nil, r.Document)
	td, err := c.presign(ctx, r, chain, doc)
	if err != nil {
		return "", err
	}
	if err := SignSession(td, signer, r.Algorithm); err != nil {
		return "", err
	}
	return c.postsign(ctx, r, chain, td, doc)
}

// Presign sends op=pre and parses the session.
func (c *Client) Presign(ctx context.Context, r Request, chain []*x509.Certificate) (*trifirma.TriphaseData, error) {
	return c.presign(ctx, r, chain, nil)
}

// presign is Presign with the document already encoded (nil: encode r.Document).
func (c *Client) presign(ctx context.Context, r Request, chain []*x509.Certificate, doc []byte) (*trifirma.TriphaseData, error) {
	body, err := c.call(ctx, c.form("pre", r, chain, nil, doc))
	if err != nil {
		return nil, err
	}
	raw, err := b64.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("client: presign answer is not Base64: %.80q", body)
	}
	return trifirma.ParseTriphaseData(raw)
}

// Postsign sends op=post with the signed session and returns the NEWID.
func (c *Client) Postsign(ctx context.Context, r Request, chain []*x509.Certificate, td *trifirma.TriphaseData) (string, error) {
	return c.postsign(ctx, r, chain, td, nil)
}

// postsign is Postsign with the document already encoded (nil: encode r.Document).
func (c *Client) postsign(ctx context.Context, r Request, chain []*x509.Certificate, td *trifirma.TriphaseData, doc []byte) (string, error) {
	body, err := c.call(ctx, c.form("post", r, chain, td, doc))
	if err != nil {
		return "", err
	}
	body = strings.TrimSpace(body)
	id, ok := strings.CutPrefix(body, "OK NEWID=")
	if !ok {
		return "", fmt.Errorf("client: unexpected postsign answer %.80q", body)
	}
	return id, nil
}

// SignSession signs every PRE of td with signer as AutoFirma does (hash + sign of the decoded
// PRE with the digest of algo, default SHA-512), adds PK1, and drops PRE where NEED_PRE is not
// true.
func SignSession(td *trifirma.TriphaseData, signer crypto.Signer, algo string) error {
	alg, err := trifirma.ComposeAlgorithm(algo, signer.Public())
	if err != nil {
		return err
	}
	for _, sd := range td.Signs {
		pre, err := sd.Bytes(trifirma.ParamPRE)
		if err != nil {
			return err
		}
		sig, err := signer.Sign(rand.Reader, alg.Digest(pre), alg.SignerOpts())
		if err != nil {
			return fmt.Errorf("client: signing: %w", err)
		}
		sd.Set(trifirma.ParamPK1, trifirma.EncodeStd(sig))
		if v, _ := sd.Get(trifirma.ParamNeedPRE); !strings.EqualFold(v, "true") {
			sd.Delete(trifirma.ParamPRE)
		}
	}
	return nil
}

// form builds the unencoded k=v body the Java clients send, in one allocation. doc is the
// document already in URL-safe Base64, or nil to encode r.Document.
func (c *Client) form(op string, r Request, chain []*x509.Certificate, td *trifirma.TriphaseData, doc []byte) []byte {
	cop := r.Operation
	if cop == "" {
		cop = trifirma.OpSign
	}
	enc := base64.URLEncoding
	var session []byte
	if td != nil {
		session = td.Marshal()
	}
	var params string
	if len(r.Params) > 0 {
		params = r.Params.Encode()
	}
	docLen := len(doc)
	if doc == nil {
		docLen = enc.EncodedLen(len(r.Document))
	}
	n := 64 + len(op) + len(cop) + len(r.Format) + len(r.Algorithm) + docLen +
		enc.EncodedLen(len(session)) + len(params)
	for _, cert := range chain {
		n += enc.EncodedLen(len(cert.Raw)) + 1
	}
	b := make([]byte, 0, n)
	appendB64 := func(b, data []byte) []byte {
		l := len(b)
		b = b[:l+enc.EncodedLen(len(data))]
		enc.Encode(b[l:], data)
		return b
	}
	b = append(b, "op="+op+"&cop="+string(cop)+"&format="+r.Format...)
	if r.Algorithm != "" {
		b = append(b, "&algo="+r.Algorithm...)
	}
	b = append(b, "&cert="...)
	for i, cert := range chain {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendB64(b, cert.Raw)
	}
	if td != nil {
		b = append(b, "&session="...)
		b = appendB64(b, session)
	}
	b = append(b, "&doc="...)
	if doc != nil {
		b = append(b, doc...)
	} else {
		b = appendB64(b, r.Document)
	}
	if params != "" {
		b = append(b, "&params="+params...)
	}
	return b
}

func (c *Client) call(ctx context.Context, body []byte) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "*/*")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength <= MaxResponseSize {
		buf.Grow(int(resp.ContentLength) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, MaxResponseSize+1))
	if err != nil {
		return "", err
	}
	if n > MaxResponseSize {
		return "", errors.New("client: response too large")
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("client: HTTP %d: %.200s", resp.StatusCode, buf.String())
	}
	text := buf.String()
	if strings.HasPrefix(text, "ERR-") {
		return "", parseServerError(text)
	}
	return text, nil
}

func parseServerError(text string) *ServerError {
	e := &ServerError{Body: strings.TrimSpace(text)}
	parts := strings.SplitN(e.Body, ":", 3)
	e.Code = parts[0]
	if e.Code == "ERR-21" && len(parts) > 1 {
		e.Requestor = strings.TrimSpace(parts[1])
	}
	return e
}
