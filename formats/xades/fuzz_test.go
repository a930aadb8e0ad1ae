package xades_test

import (
	"context"
	"crypto"
	"errors"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/xades"
	"github.com/trifirma/trifirma/internal/testpki"
)

// FuzzSignRoundTrip signs arbitrary inputs with every variant: either presign refuses them
// with one of the engine's errors, or the whole triphase flow succeeds (Postsign re-verifies
// every reference and SignedInfo, so a wrong canonical form would fail here).
func FuzzSignRoundTrip(f *testing.F) {
	f.Add([]byte(sampleXML), uint8(1))
	f.Add([]byte(`<a xmlns="urn:a" xml:lang="x"><b/></a>`), uint8(1))
	f.Add([]byte("binary\x00data"), uint8(0))
	pki := testpki.Get(f)
	vs := []string{xades.VariantEnveloping, xades.VariantEnveloped, xades.VariantDetached, xades.VariantExternal}
	f.Fuzz(func(t *testing.T, doc []byte, v uint8) {
		p := trifirma.Params{"format": vs[int(v)%len(vs)], "uri": "https://example.invalid/x"}
		out, err := trifirma.Sign(context.Background(), doc, pki.EC.Key, pki.EC.Chain, trifirma.SignOptions{
			Engine: xades.New(xades.Config{MaxDepth: 64, MaxElements: 5000}), Hash: crypto.SHA256, Params: p, Time: signTime})
		if err != nil {
			if errors.Is(err, trifirma.ErrInvalidDocument) || errors.Is(err, trifirma.ErrTooLarge) || errors.Is(err, trifirma.ErrInvalidParams) {
				var need *trifirma.ConfigNeededError
				_ = errors.As(err, &need)
				return
			}
			t.Fatalf("unexpected error: %v", err)
		}
		if len(out) == 0 {
			t.Fatal("empty signature")
		}
		// Co-sign the result: it must work on anything we produced.
		if _, err := trifirma.Sign(context.Background(), out, pki.RSA.Key, pki.RSA.Chain, trifirma.SignOptions{
			Engine: xades.New(xades.Config{}), Operation: trifirma.OpCoSign, Hash: crypto.SHA256, Params: p, Time: signTime}); err != nil {
			t.Fatalf("co-signing our own output: %v", err)
		}
	})
}
