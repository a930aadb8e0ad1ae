package server_test

import (
	"context"
	"crypto/x509"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/formats"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
	"github.com/trifirma/trifirma/server"
)

// TestXAdESThroughHTTP signs as the XAdES client does (format=XAdES, the variant in the extra
// parameter "format"), then co-signs and countersigns, validating every result externally.
func TestXAdESThroughHTTP(t *testing.T) {
	pki := testpki.Get(t)
	_, c := newServer(t, server.Config{Engines: formats.Default(formats.Config{})})
	ctx := context.Background()
	doc := []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<expediente xmlns="urn:example:exp" Id="exp-1"><asunto a="x	y">Licencia de obras</asunto></expediente>`)
	opts := validate.Options{Roots: []*x509.Certificate{pki.Root}}
	for _, variant := range []string{"XAdES Enveloped", "XAdES Enveloping", "XAdES Detached"} {
		t.Run(variant, func(t *testing.T) {
			p := trifirma.Params{"format": variant}
			sig, err := c.Sign(ctx, client.Request{Format: "XAdES", Algorithm: "SHA256withRSA", Params: p, Document: doc}, pki.RSA.Key, pki.RSA.Chain)
			if err != nil {
				t.Fatal(err)
			}
			o := opts
			o.Signers = 1
			validate.XAdES(t, sig, o)
			co, err := c.Sign(ctx, client.Request{Format: "XAdES", Operation: trifirma.OpCoSign, Algorithm: "SHA512withECDSA", Params: p, Document: sig}, pki.EC.Key, pki.EC.Chain)
			if err != nil {
				t.Fatal("cosign:", err)
			}
			o.Signers = 2
			validate.XAdES(t, co, o)
			cs, err := c.Sign(ctx, client.Request{Format: "XAdES", Operation: trifirma.OpCounterSign, Algorithm: "SHA256withRSA", Document: co}, pki.RSA2.Key, pki.RSA2.Chain)
			if err != nil {
				t.Fatal("countersign:", err)
			}
			o.Signers = 4
			validate.XAdES(t, cs, o)
		})
	}
}
