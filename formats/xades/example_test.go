package xades_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/xades"
	"github.com/trifirma/trifirma/internal/testpki"
)

// An enveloped XAdES signature made in process with a crypto.Signer.
func Example() {
	pki := testpki.MustGet()
	doc := []byte(`<?xml version="1.0" encoding="UTF-8"?><factura><importe>100.00</importe></factura>`)
	signed, err := trifirma.Sign(context.Background(), doc, pki.RSA.Key, pki.RSA.Chain, trifirma.SignOptions{
		Engine: xades.New(xades.Config{}),
		Format: trifirma.FormatXAdES,
		Params: trifirma.Params{"format": xades.VariantEnveloped, "signerClaimedRoles": "emisor"},
		Time:   time.Now().Add(-time.Minute),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(bytes.HasPrefix(signed, []byte(`<?xml version="1.0" encoding="UTF-8"?><factura><importe>100.00</importe><ds:Signature`)))
	fmt.Println(bytes.Contains(signed, []byte("<xades:ClaimedRole>emisor</xades:ClaimedRole>")))
	// Output:
	// true
	// true
}

// The triphase flow: the server presigns, the device signs each PRE, the server postsigns.
func ExampleEngine_Presign() {
	pki := testpki.MustGet()
	engine := xades.New(xades.Config{})
	alg, _ := trifirma.ComposeAlgorithm("SHA256withECDSA", pki.EC.Cert.PublicKey)
	req := &trifirma.Request{
		Operation: trifirma.OpSign,
		Format:    trifirma.FormatXAdES,
		Document:  []byte("any binary data"),
		Chain:     pki.EC.Chain,
		Algorithm: alg,
		Params:    trifirma.Params{"format": xades.VariantDetached},
	}
	session, err := engine.Presign(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	// On the device: sign the canonical SignedInfo (PRE) with the private key.
	for _, firma := range session.Signs {
		pre, _ := firma.Bytes(trifirma.ParamPRE)
		sig, _ := pki.EC.Key.Sign(rand.Reader, alg.Digest(pre), alg.SignerOpts())
		firma.Set(trifirma.ParamPK1, trifirma.EncodeStd(sig))
	}
	signed, err := engine.Postsign(context.Background(), req, session)
	if err != nil {
		fmt.Println(err)
		return
	}
	decoded, _ := session.Signs[0].Get(trifirma.ParamPK1Decoded)
	fmt.Println(len(session.Signs), decoded, bytes.Contains(signed, []byte(`<AFIRMA Id="AFIRMA-Root-`)))
	// Output: 1 true true
}
