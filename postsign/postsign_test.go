package postsign_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
	"github.com/trifirma/trifirma/postsign"
	"github.com/trifirma/trifirma/presign"
)

func phases(t *testing.T, key string) (*presign.Presigner, *postsign.Postsigner, *trifirma.Request) {
	t.Helper()
	pki := testpki.Get(t)
	engines := trifirma.Registry{trifirma.FormatCAdES: cades.New(cades.Config{})}
	sealer := trifirma.GenerateSealer()
	req := &trifirma.Request{Operation: trifirma.OpSign, Format: trifirma.FormatCAdES, Document: []byte("documento"),
		Chain: pki.RSA.Chain, Algorithm: trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA},
		Params: trifirma.Params{"mode": "implicit"}}
	return &presign.Presigner{Engines: engines, Sealer: sealer, VerificationKey: key},
		&postsign.Postsigner{Engines: engines, Sealer: sealer, VerificationKey: key}, req
}

func device(t *testing.T, td *trifirma.TriphaseData, req *trifirma.Request) {
	t.Helper()
	pki := testpki.Get(t)
	for _, sd := range td.Signs {
		pre, err := sd.Bytes(trifirma.ParamPRE)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := pki.RSA.Key.Sign(nil, req.Algorithm.Digest(pre), req.Algorithm.SignerOpts())
		if err != nil {
			t.Fatal(err)
		}
		sd.Set(trifirma.ParamPK1, trifirma.EncodeStd(sig))
	}
}

func TestPhases(t *testing.T) {
	for _, key := range []string{"", "verification-key"} {
		pre, post, req := phases(t, key)
		ctx := context.Background()
		td, err := pre.Presign(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if req.Time.IsZero() {
			t.Fatal("presign did not fix the signing time")
		}
		if _, ok := td.Signs[0].Get(trifirma.ParamSeal); !ok {
			t.Fatal("session not sealed")
		}
		if _, ok := td.Signs[0].Get(trifirma.ParamHMAC); ok != (key != "") {
			t.Fatalf("HMAC present = %v with key %q", ok, key)
		}
		back, err := trifirma.ParseTriphaseData(td.Marshal())
		if err != nil {
			t.Fatal(err)
		}
		device(t, back, req)
		sig, err := post.Postsign(ctx, req, back)
		if err != nil {
			t.Fatal(err)
		}
		validate.CAdES(t, sig, validate.Options{Roots: []*x509.Certificate{testpki.Get(t).Root}, Signers: 1})
	}
}

func TestPostsignRefuses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		key    string
		mutate func(td *trifirma.TriphaseData, req *trifirma.Request)
		want   error
	}{
		{"no PK1", "", func(td *trifirma.TriphaseData, _ *trifirma.Request) { td.Signs[0].Delete(trifirma.ParamPK1) }, trifirma.ErrInvalidSession},
		{"wrong PK1", "", func(td *trifirma.TriphaseData, _ *trifirma.Request) {
			td.Signs[0].Set(trifirma.ParamPK1, trifirma.EncodeStd(make([]byte, 256)))
		}, trifirma.ErrBadSignatureValue},
		{"tampered PRE", "", func(td *trifirma.TriphaseData, _ *trifirma.Request) { td.Signs[0].Set(trifirma.ParamPRE, "MQA=") }, trifirma.ErrSessionTampered},
		{"other params", "", func(_ *trifirma.TriphaseData, req *trifirma.Request) {
			req.Params = trifirma.Params{"mode": "explicit"}
		}, trifirma.ErrSessionTampered},
		{"other document", "", func(_ *trifirma.TriphaseData, req *trifirma.Request) { req.Document = []byte("otro") }, trifirma.ErrSessionTampered},
		{"no HMAC", "k", func(td *trifirma.TriphaseData, _ *trifirma.Request) { td.Signs[0].Delete(trifirma.ParamHMAC) }, trifirma.ErrSessionTampered},
		{"no engine", "", func(_ *trifirma.TriphaseData, req *trifirma.Request) { req.Format = trifirma.FormatXAdES }, trifirma.ErrSessionTampered},
		{"empty session", "", func(td *trifirma.TriphaseData, _ *trifirma.Request) { td.Signs = nil }, trifirma.ErrInvalidSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre, post, req := phases(t, tt.key)
			td, err := pre.Presign(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			device(t, td, req)
			tt.mutate(td, req)
			sig, err := post.Postsign(ctx, req, td)
			if !errors.Is(err, tt.want) || sig != nil {
				t.Fatalf("err = %v (signature %d bytes), want %v", err, len(sig), tt.want)
			}
		})
	}
}
