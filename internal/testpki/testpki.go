// Package testpki builds a throw-away PKI for tests: a root CA, two RSA-2048 signers, P-256 and
// P-384 signers and a time-stamping authority. It is generated once per process and never
// written anywhere unless a test asks for a file.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Identity is a key with its certificate and chain (certificate first, root last).
type Identity struct {
	Key   crypto.Signer
	Cert  *x509.Certificate
	Chain []*x509.Certificate
}

// ChainDER returns the DER of every certificate of the chain.
func (id *Identity) ChainDER() [][]byte {
	out := make([][]byte, len(id.Chain))
	for i, c := range id.Chain {
		out[i] = c.Raw
	}
	return out
}

// PKI is the test hierarchy.
type PKI struct {
	Root    *x509.Certificate
	RootKey crypto.Signer
	RSA     *Identity // "Trifirma Test Signer" (RSA-2048), with a certificate policy
	RSA2    *Identity // "Trifirma Test Cosigner" (RSA-2048)
	EC      *Identity // P-256
	EC384   *Identity // P-384
	TSA     *Identity // RSA-2048, EKU timeStamping (critical)
	// Other is a signer under a different root, for negative tests.
	Other *Identity
}

var (
	once sync.Once
	pki  *PKI
	perr error
)

// PolicyOID is the certificate policy placed in the RSA signer's certificate.
var PolicyOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 1}

// Get returns the process-wide test PKI, generating it on first use.
func Get(tb testing.TB) *PKI {
	tb.Helper()
	once.Do(func() { pki, perr = generate() })
	if perr != nil {
		tb.Fatalf("testpki: %v", perr)
	}
	return pki
}

// MustGet is Get for benchmarks' and examples' package-level use; it panics on failure.
func MustGet() *PKI {
	once.Do(func() { pki, perr = generate() })
	if perr != nil {
		panic(perr)
	}
	return pki
}

var serial int64 = 1000

func nextSerial() *big.Int {
	serial++
	return big.NewInt(serial)
}

func generate() (*PKI, error) {
	notBefore := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	notAfter := notBefore.Add(20 * 365 * 24 * time.Hour)
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	rootTmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{Country: []string{"ES"}, Organization: []string{"Trifirma Test"}, CommonName: "Trifirma Test Root CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, err
	}
	p := &PKI{Root: root, RootKey: rootKey}
	leaf := func(cn string, key crypto.Signer, mod func(*x509.Certificate), issuer *x509.Certificate, issuerKey crypto.Signer) (*Identity, error) {
		t := &x509.Certificate{
			SerialNumber: nextSerial(),
			Subject: pkix.Name{Country: []string{"ES"}, Organization: []string{"Trifirma Test"},
				CommonName: cn, SerialNumber: "IDCES-99999999R"},
			NotBefore: notBefore,
			NotAfter:  notAfter,
			KeyUsage:  x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		}
		if mod != nil {
			mod(t)
		}
		der, err := x509.CreateCertificate(rand.Reader, t, issuer, key.Public(), issuerKey)
		if err != nil {
			return nil, err
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		return &Identity{Key: key, Cert: c, Chain: []*x509.Certificate{c, issuer}}, nil
	}
	rsaKey := func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 2048) }
	k, err := rsaKey()
	if err != nil {
		return nil, err
	}
	if p.RSA, err = leaf("Trifirma Test Signer", k, func(c *x509.Certificate) {
		c.PolicyIdentifiers = []asn1.ObjectIdentifier{PolicyOID}
	}, root, rootKey); err != nil {
		return nil, err
	}
	if k, err = rsaKey(); err != nil {
		return nil, err
	}
	if p.RSA2, err = leaf("Trifirma Test Cosigner", k, nil, root, rootKey); err != nil {
		return nil, err
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if p.EC, err = leaf("Trifirma Test EC Signer", ek, nil, root, rootKey); err != nil {
		return nil, err
	}
	ek384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if p.EC384, err = leaf("Trifirma Test EC384 Signer", ek384, nil, root, rootKey); err != nil {
		return nil, err
	}
	if k, err = rsaKey(); err != nil {
		return nil, err
	}
	if p.TSA, err = leaf("Trifirma Test TSA", k, func(c *x509.Certificate) {
		c.KeyUsage = x509.KeyUsageDigitalSignature
		// RFC 3161 §2.3: the EKU must be present, critical, and only id-kp-timeStamping.
		eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
		c.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}}
	}, root, rootKey); err != nil {
		return nil, err
	}
	// A signer under another root.
	otherRootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ot := *rootTmpl
	ot.SerialNumber = nextSerial()
	ot.Subject.CommonName = "Trifirma Other Root CA"
	otherDER, err := x509.CreateCertificate(rand.Reader, &ot, &ot, &otherRootKey.PublicKey, otherRootKey)
	if err != nil {
		return nil, err
	}
	otherRoot, err := x509.ParseCertificate(otherDER)
	if err != nil {
		return nil, err
	}
	if k, err = rsaKey(); err != nil {
		return nil, err
	}
	if p.Other, err = leaf("Trifirma Other Signer", k, nil, otherRoot, otherRootKey); err != nil {
		return nil, err
	}
	return p, nil
}

// RootPEM returns the root certificate in PEM.
func (p *PKI) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Root.Raw})
}

// WriteRoot writes the root certificate as PEM into dir and returns its path.
func (p *PKI) WriteRoot(tb testing.TB, dir string) string {
	tb.Helper()
	path := filepath.Join(dir, "trifirma-test-root.pem")
	if err := os.WriteFile(path, p.RootPEM(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Identities returns the signers tests usually iterate over: RSA and P-256.
func (p *PKI) Identities() map[string]*Identity {
	return map[string]*Identity{"RSA": p.RSA, "ECDSA": p.EC}
}
