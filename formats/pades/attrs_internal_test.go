package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testpki"
)

// TestSignedAttributesTemplate checks that filling the zero-digest template gives exactly the
// bytes cades.SignedAttributes encodes, for every digest and the attribute-bearing parameters.
func TestSignedAttributesTemplate(t *testing.T) {
	pki := testpki.Get(t)
	doc := pdftest.Build(pdftest.Options{})
	e := New(Config{})
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		for _, p := range []trifirma.Params{
			{},
			{"expPolicy": "FirmaAGE"},
			{"commitmentTypeIndications": "1", "commitmentTypeIndication0Identifier": "1"},
			{"signerClaimedRoles": "Alcalde|Concejal", "profile": "baseline"},
		} {
			for _, sg := range []struct {
				id  *testpki.Identity
				key trifirma.KeyType
			}{{pki.RSA, trifirma.KeyRSA}, {pki.EC, trifirma.KeyECDSA}} {
				req := &trifirma.Request{Operation: trifirma.OpSign, Document: doc, Chain: sg.id.Chain,
					Algorithm: trifirma.SignatureAlgorithm{Hash: h, Key: sg.key}, Params: p}
				rq, err := e.prepare(context.Background(), req)
				if err != nil {
					t.Fatalf("%v %v: %v", h, p, err)
				}
				for i := 0; i < 4; i++ {
					d := make([]byte, h.Size())
					_, _ = rand.Read(d)
					if i == 1 {
						for k := range d {
							d[k] = 0xff
						}
					}
					got, ok := withDigest(rq.template, d)
					if !ok {
						t.Fatalf("%v %v: the template has no unique message digest", h, p)
					}
					a := *rq.attrs
					a.MessageDigest = d
					want, err := cades.SignedAttributes(&a)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("%v %v: template fill differs from the encoding", h, p)
					}
				}
			}
		}
	}
	if _, ok := withDigest([]byte{1, 2, 3}, make([]byte, 32)); ok {
		t.Fatal("withDigest accepted a template without a message digest")
	}
}
