package trifirma_test

import (
	"crypto"
	"errors"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/testpki"
)

func sealFixture(t *testing.T) (*trifirma.Sealer, trifirma.SealContext, *time.Time) {
	pki := testpki.Get(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s, err := trifirma.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return now }
	c := trifirma.SealContext{
		Format: trifirma.FormatCAdES, Operation: trifirma.OpSign,
		Algorithm: trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA},
		Signer:    pki.RSA.Cert, Params: trifirma.Params{"mode": "implicit"},
	}
	return s, c, &now
}

func TestSealRoundTrip(t *testing.T) {
	s, c, _ := sealFixture(t)
	td := sampleSession()
	if err := s.Seal(td, c); err != nil {
		t.Fatal(err)
	}
	// The session travels through the client: serialised, parameters reordered, PK1 added.
	back, err := trifirma.ParseTriphaseData(td.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	first := back.Signs[0]
	first.Params[0], first.Params[1] = first.Params[1], first.Params[0]
	first.Set(trifirma.ParamPK1, "AQID")
	if err := s.Open(back, c); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, ok := back.Signs[0].Get(trifirma.ParamSeal); ok {
		t.Fatal("seal not removed")
	}
}

func TestSealRejects(t *testing.T) {
	pki := testpki.Get(t)
	tests := []struct {
		name   string
		mutate func(td *trifirma.TriphaseData, c *trifirma.SealContext, now *time.Time)
		want   error
	}{
		{"changed PRE", func(td *trifirma.TriphaseData, _ *trifirma.SealContext, _ *time.Time) {
			td.Signs[0].Set(trifirma.ParamPRE, "MYIBAQ==")
		}, trifirma.ErrSessionTampered},
		{"dropped firma", func(td *trifirma.TriphaseData, _ *trifirma.SealContext, _ *time.Time) {
			td.Signs = td.Signs[:1]
		}, trifirma.ErrSessionTampered},
		{"added param", func(td *trifirma.TriphaseData, _ *trifirma.SealContext, _ *time.Time) {
			td.Signs[1].Set("TIME", "1")
		}, trifirma.ErrSessionTampered},
		{"changed Id", func(td *trifirma.TriphaseData, _ *trifirma.SealContext, _ *time.Time) {
			td.Signs[1].ID = "other"
		}, trifirma.ErrSessionTampered},
		{"reordered firmas", func(td *trifirma.TriphaseData, _ *trifirma.SealContext, _ *time.Time) {
			td.Signs[0], td.Signs[1] = td.Signs[1], td.Signs[0]
		}, trifirma.ErrSessionTampered},
		{"other certificate", func(_ *trifirma.TriphaseData, c *trifirma.SealContext, _ *time.Time) {
			c.Signer = pki.RSA2.Cert
		}, trifirma.ErrSessionTampered},
		{"other params", func(_ *trifirma.TriphaseData, c *trifirma.SealContext, _ *time.Time) {
			c.Params = trifirma.Params{"mode": "explicit"}
		}, trifirma.ErrSessionTampered},
		{"other format", func(_ *trifirma.TriphaseData, c *trifirma.SealContext, _ *time.Time) {
			c.Format = trifirma.FormatXAdES
		}, trifirma.ErrSessionTampered},
		{"other algorithm", func(_ *trifirma.TriphaseData, c *trifirma.SealContext, _ *time.Time) {
			c.Algorithm.Hash = crypto.SHA512
		}, trifirma.ErrSessionTampered},
		{"no seal", func(td *trifirma.TriphaseData, _ *trifirma.SealContext, _ *time.Time) {
			td.Signs[0].Delete(trifirma.ParamSeal)
		}, trifirma.ErrSessionTampered},
		{"garbage seal", func(td *trifirma.TriphaseData, _ *trifirma.SealContext, _ *time.Time) {
			td.Signs[0].Set(trifirma.ParamSeal, "1.AAAA")
		}, trifirma.ErrSessionTampered},
		{"expired", func(_ *trifirma.TriphaseData, _ *trifirma.SealContext, now *time.Time) {
			*now = now.Add(trifirma.DefaultSessionTTL + time.Second)
		}, trifirma.ErrSessionExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c, now := sealFixture(t)
			td := sampleSession()
			if err := s.Seal(td, c); err != nil {
				t.Fatal(err)
			}
			tt.mutate(td, &c, now)
			if err := s.Open(td, c); !errors.Is(err, tt.want) {
				t.Fatalf("Open err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSealForeignKey(t *testing.T) {
	s, c, _ := sealFixture(t)
	td := sampleSession()
	if err := s.Seal(td, c); err != nil {
		t.Fatal(err)
	}
	if err := trifirma.GenerateSealer().Open(td, c); !errors.Is(err, trifirma.ErrSessionTampered) {
		t.Fatalf("foreign key accepted: %v", err)
	}
}

func TestNewSealerShortKey(t *testing.T) {
	if _, err := trifirma.NewSealer(make([]byte, 16)); err == nil {
		t.Fatal("16-byte key accepted")
	}
}

// TestReferenceHMAC checks the worked value of the reference's verification code.
func TestReferenceHMAC(t *testing.T) {
	if got := trifirma.ReferenceHMAC("secret", "UFJF", []byte{1, 2, 3}); got != "DYohGNvT8sgKdV1uvisQiChYakIwvmk1cpL69ARKXPQ=" {
		t.Fatalf("got %s", got)
	}
}
