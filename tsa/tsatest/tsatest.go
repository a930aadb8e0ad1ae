// Package tsatest runs an RFC 3161 time-stamping authority on 127.0.0.1 for tests. Its tokens
// are CMS SignedData over a TSTInfo with content-type, message-digest and
// signing-certificate-v2 signed attributes, signed by the given identity (which must carry the
// timeStamping extended key usage, like testpki's TSA). Faults can be injected to test clients.
package tsatest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/internal/cms"
)

// DefaultPolicy is the TSA policy of tokens when the request names none.
var DefaultPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2, 1}

// Fault selects a misbehaviour of the server.
type Fault int

// Faults.
const (
	None         Fault = iota
	WrongNonce         // the token carries another nonce
	WrongDigest        // the token's imprint is of other data
	Rejection          // status rejection (2) without token
	BadSignature       // the token's signature value is corrupted
	Garbage            // the body is not a TimeStampResp
	Huge               // a body of 2 MiB
	Slow               // answers after 3 seconds
	HTTPError          // HTTP 500
)

// Server is a test TSA.
type Server struct {
	*httptest.Server
	Key   crypto.Signer
	Chain []*x509.Certificate
	// Fault is read on every request.
	Fault atomic.Int32
	// User and Password, when User is set, are required with basic authentication.
	User, Password string
	// Requests counts the requests served.
	Requests atomic.Int32
	serial   atomic.Int64
}

// Identity issues a TSA key and certificate under root (RSA-2048, key usage digitalSignature,
// extended key usage timeStamping marked critical as RFC 3161 section 2.3 requires and
// `openssl ts -verify` checks). It returns the key and the chain (TSA certificate, root).
func Identity(t testing.TB, root *x509.Certificate, rootKey crypto.Signer) (crypto.Signer, []*x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         pkix.Name{Country: []string{"ES"}, Organization: []string{"Trifirma Test"}, CommonName: "Trifirma Test TSA (tsatest)"},
		NotBefore:       root.NotBefore,
		NotAfter:        root.NotAfter,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, key.Public(), rootKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, []*x509.Certificate{cert, root}
}

// New starts a TSA on 127.0.0.1 signing with key and chain (TSA certificate first); it is
// closed with the test.
func New(t testing.TB, key crypto.Signer, chain []*x509.Certificate) *Server {
	t.Helper()
	s := &Server{Key: key, Chain: chain}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.Listener = l
	s.Server.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	if s.User != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != s.User || p != s.Password {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	fault := Fault(s.Fault.Load())
	switch fault {
	case HTTPError:
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	case Garbage:
		_, _ = w.Write([]byte("not a response"))
		return
	case Huge:
		_, _ = w.Write(make([]byte, 2<<20))
		return
	case Slow:
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
			return
		}
	case Rejection:
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write(cms.Seq(cms.Seq(cms.Raw([]byte{2, 1, 2}), cms.Seq(cms.UTF8("rejected for the test")))).Bytes())
		return
	}
	resp, err := s.respond(body, fault)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

type request struct {
	Version int
	Imprint struct {
		Alg struct {
			OID    asn1.ObjectIdentifier
			Params asn1.RawValue `asn1:"optional"`
		}
		Hashed []byte
	}
	Policy  asn1.ObjectIdentifier `asn1:"optional"`
	Nonce   *big.Int              `asn1:"optional"`
	CertReq bool                  `asn1:"optional,default:false"`
}

func (s *Server) respond(body []byte, fault Fault) ([]byte, error) {
	var req request
	if _, err := asn1.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	h := cms.HashFromOID(req.Imprint.Alg.OID)
	if h == 0 {
		return nil, io.ErrUnexpectedEOF
	}
	hashed := req.Imprint.Hashed
	if fault == WrongDigest {
		hashed = bytes.Repeat([]byte{0x42}, len(hashed))
	}
	nonce := req.Nonce
	if fault == WrongNonce && nonce != nil {
		nonce = new(big.Int).Add(nonce, big.NewInt(1))
	}
	pol := req.Policy
	if pol == nil {
		pol = DefaultPolicy
	}
	alg, _ := cms.DigestAlgorithm(h)
	var n *cms.Elem
	if nonce != nil {
		b, _ := asn1.Marshal(nonce)
		n = cms.Raw(b)
	}
	serial, _ := asn1.Marshal(big.NewInt(s.serial.Add(1)))
	gen := time.Now().UTC().Format("20060102150405Z")
	info := cms.Seq(
		cms.Raw([]byte{2, 1, 1}),
		cms.OIDElem(pol),
		cms.Seq(cms.Raw(alg), cms.OctetString(hashed)),
		cms.Raw(serial),
		cms.Prim(cms.TagGenTime, []byte(gen)),
		n,
	).Bytes()
	kt, err := trifirma.KeyTypeOf(s.Key.Public())
	if err != nil {
		return nil, err
	}
	sa := trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: kt}
	attrs, err := cades.SignedAttributes(&cades.AttributeOptions{
		Profile: cades.ProfileCAdES, Hash: sa.Hash, MessageDigest: sa.Digest(info),
		ContentType: cms.OIDTSTInfo, Signer: s.Chain[0], SigningCertificateV2: true,
	})
	if err != nil {
		return nil, err
	}
	sig, err := s.Key.Sign(rand.Reader, sa.Digest(attrs), sa.SignerOpts())
	if err != nil {
		return nil, err
	}
	if fault == BadSignature {
		sig[len(sig)/2] ^= 0xff
	}
	si, err := cades.BuildSignerInfo(s.Chain[0], sa, attrs, sig, nil)
	if err != nil {
		return nil, err
	}
	sd := cms.NewSignedData(cms.OIDTSTInfo, info, true)
	if err := sd.AddDigestAlgorithm(sa.Hash); err != nil {
		return nil, err
	}
	if req.CertReq {
		sd.AddCertificates(s.Chain...)
	}
	sd.AddSignerInfo(si)
	return cms.Seq(cms.Seq(cms.Raw([]byte{2, 1, 0})), cms.Raw(sd.Encode())).Bytes(), nil
}
