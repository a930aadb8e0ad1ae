package server_test

import (
	"context"
	"crypto/x509"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/formats"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
	"github.com/trifirma/trifirma/server"
)

// TestPAdESThroughHTTP signs a PDF as the PAdES client does (format=pades, cop=sign also when
// the PDF already carries a signature), visibly the second time, and validates every
// signature with poppler, qpdf and pdfcpu.
func TestPAdESThroughHTTP(t *testing.T) {
	pki := testpki.Get(t)
	_, c := newServer(t, server.Config{Engines: formats.Default(formats.Config{})})
	ctx := context.Background()
	pdf := pdftest.Build(pdftest.Options{Pages: 2, XRef: pdftest.Stream, ObjStm: true})
	once, err := c.Sign(ctx, client.Request{Format: "pades", Algorithm: "SHA256withRSA",
		Params: trifirma.Params{"signReason": "Aprobación", "serverUrl": "http://127.0.0.1/x"}, Document: pdf}, pki.RSA.Key, pki.RSA.Chain)
	if err != nil {
		t.Fatal(err)
	}
	validate.PAdES(t, once, validate.Options{Roots: []*x509.Certificate{pki.Root}, Signers: 1})
	twice, err := c.Sign(ctx, client.Request{Format: "pades", Algorithm: "SHA512withECDSA",
		Params: trifirma.Params{"signaturePage": "-1", "layer2Text": "Firmado por $$SUBJECTCN$$",
			"signaturePositionOnPageLowerLeftX": "50", "signaturePositionOnPageLowerLeftY": "50",
			"signaturePositionOnPageUpperRightX": "250", "signaturePositionOnPageUpperRightY": "120"},
		Document: once}, pki.EC.Key, pki.EC.Chain)
	if err != nil {
		t.Fatal(err)
	}
	validate.PAdES(t, twice, validate.Options{Roots: []*x509.Certificate{pki.Root}, Signers: 2})
}
