package pades_test

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/pades"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testpki"
)

// Example signs a PDF in process with a visible signature; trifirma.Sign runs presign, the
// device signature and postsign.
func Example() {
	pki := testpki.MustGet()
	doc := pdftest.Build(pdftest.Options{Pages: 2})
	signed, err := trifirma.Sign(context.Background(), doc, pki.RSA.Key, pki.RSA.Chain, trifirma.SignOptions{
		Engine: pades.New(pades.Config{}),
		Format: trifirma.FormatPAdES,
		Hash:   crypto.SHA256,
		Time:   time.Date(2025, 1, 2, 10, 0, 0, 0, time.UTC),
		Params: trifirma.Params{
			"signReason":                         "Conforme",
			"signaturePage":                      "-1",
			"signaturePositionOnPageLowerLeftX":  "72",
			"signaturePositionOnPageLowerLeftY":  "72",
			"signaturePositionOnPageUpperRightX": "300",
			"signaturePositionOnPageUpperRightY": "140",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(signed) > len(doc), string(signed[:len(doc)]) == string(doc))
	// Output: true true
}

// Example_triphase shows the two server phases: presign returns PRE, TIME and PID; the
// device signs PRE; postsign rebuilds the revision and inserts the CMS.
func Example_triphase() {
	pki := testpki.MustGet()
	eng := pades.New(pades.Config{})
	alg := trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}
	req := &trifirma.Request{Operation: trifirma.OpSign, Format: trifirma.FormatPAdES,
		Document: pdftest.Build(pdftest.Options{}), Chain: pki.RSA.Chain, Algorithm: alg,
		Time: time.Date(2025, 1, 2, 10, 0, 0, 0, time.UTC)}
	td, err := eng.Presign(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	t, _ := td.Signs[0].Get(trifirma.ParamTime)
	fmt.Println("TIME", t)
	pre, _ := td.Signs[0].Bytes(trifirma.ParamPRE)
	sig, _ := pki.RSA.Key.Sign(nil, alg.Digest(pre), alg.SignerOpts()) // on the device
	td.Signs[0].Set(trifirma.ParamPK1, trifirma.EncodeStd(sig))
	signed, err := eng.Postsign(context.Background(), req, td)
	fmt.Println(err == nil, len(signed) > len(req.Document))
	// Output:
	// TIME 1735812000000
	// true true
}

// ExampleEngine_PostsignIncremental writes the signed PDF without copying the document: the
// result is the caller's bytes followed by the update that carries the signature.
func ExampleEngine_PostsignIncremental() {
	pki := testpki.MustGet()
	eng := pades.New(pades.Config{})
	alg := trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}
	req := &trifirma.Request{Operation: trifirma.OpSign, Format: trifirma.FormatPAdES,
		Document: pdftest.Build(pdftest.Options{Padding: 1 << 20}), Chain: pki.RSA.Chain, Algorithm: alg}
	td, err := eng.Presign(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	pre, _ := td.Signs[0].Bytes(trifirma.ParamPRE)
	sig, _ := pki.RSA.Key.Sign(nil, alg.Digest(pre), alg.SignerOpts()) // on the device
	td.Signs[0].Set(trifirma.ParamPK1, trifirma.EncodeStd(sig))
	signed, err := eng.PostsignIncremental(context.Background(), req, td)
	if err != nil {
		fmt.Println(err)
		return
	}
	var out bytes.Buffer // a file or an HTTP response in a server
	n, err := signed.WriteTo(&out)
	fmt.Println(err == nil, n == signed.Size(), n == int64(len(req.Document)+len(signed.Update())))
	// Output: true true true
}
