package cades_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
)

// exampleIdentity makes a throw-away P-256 key and self-signed certificate.
func exampleIdentity() (crypto.Signer, []*x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "Example Signer"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		log.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	return key, []*x509.Certificate{cert}
}

// Sign a document in process with an in-memory key (any crypto.Signer works: an HSM, a cloud
// KMS, ...): an implicit CAdES-EPES under the AGE policy.
func ExampleNew() {
	key, chain := exampleIdentity()
	sig, err := trifirma.Sign(context.Background(), []byte("Hola Mundo"), key, chain, trifirma.SignOptions{
		Engine: cades.New(cades.Config{}),
		Hash:   crypto.SHA256,
		Params: trifirma.Params{"mode": "implicit", "expPolicy": "FirmaAGE"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("DER CMS SignedData: %v\n", sig[0] == 0x30 && len(sig) > 500)
	// Output: DER CMS SignedData: true
}

// The three phases with the device's signature made elsewhere: presign on the server, a
// PKCS#1 (here ECDSA) signature over each PRE on the device, postsign on the server.
func ExampleEngine_Postsign() {
	key, chain := exampleIdentity()
	engine := cades.New(cades.Config{})
	ctx := context.Background()
	req := &trifirma.Request{
		Operation: trifirma.OpSign,
		Document:  []byte("document to sign"),
		Chain:     chain,
		Algorithm: trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyECDSA},
		Params:    trifirma.Params{"SignatureId": "sig-1"}, // mode defaults to explicit (detached)
	}

	// 1. Presign: the session carries PRE, the DER signed attributes.
	session, err := engine.Presign(ctx, req)
	if err != nil {
		log.Fatal(err)
	}

	// 2. The device signs every PRE completely (hash + sign) and adds PK1.
	for _, s := range session.Signs {
		pre, err := s.Bytes(trifirma.ParamPRE)
		if err != nil {
			log.Fatal(err)
		}
		pk1, err := key.Sign(rand.Reader, req.Algorithm.Digest(pre), req.Algorithm.SignerOpts())
		if err != nil {
			log.Fatal(err)
		}
		s.Set(trifirma.ParamPK1, trifirma.EncodeStd(pk1))
	}

	// 3. Postsign assembles the detached CAdES (it does not need the document again).
	req.Document = nil
	sig, err := engine.Postsign(ctx, req, session)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("firma Id:", session.Signs[0].ID, "- signature bytes > 0:", len(sig) > 0)
	// Output: firma Id: sig-1 - signature bytes > 0: true
}
