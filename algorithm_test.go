package trifirma_test

import (
	"crypto"
	"errors"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/testpki"
)

func TestComposeAlgorithm(t *testing.T) {
	pki := testpki.Get(t)
	rsaPub, ecPub := pki.RSA.Cert.PublicKey, pki.EC.Cert.PublicKey
	tests := []struct {
		name string
		pub  crypto.PublicKey
		want string
	}{
		{"", rsaPub, "SHA512withRSA"},
		{"", ecPub, "SHA512withECDSA"},
		{"SHA256withRSA", ecPub, "SHA256withECDSA"},
		{"SHA-256", rsaPub, "SHA256withRSA"},
		{"SHA1", rsaPub, "SHA1withRSA"},
		{"sha", rsaPub, "SHA1withRSA"},
		{"SHA384withECDSA", ecPub, "SHA384withECDSA"},
		{"2.16.840.1.101.3.4.2.3", rsaPub, "SHA512withRSA"},
		{"http://www.w3.org/2001/04/xmlenc#sha256", rsaPub, "SHA256withRSA"},
		{" sha512withrsa ", rsaPub, "SHA512withRSA"},
	}
	for _, tt := range tests {
		got, err := trifirma.ComposeAlgorithm(tt.name, tt.pub)
		if err != nil || got.String() != tt.want {
			t.Errorf("ComposeAlgorithm(%q) = %v, %v; want %s", tt.name, got, err, tt.want)
		}
	}
	for _, bad := range []string{"MD5withRSA", "md2", "SHA3-256", "RSA"} {
		if _, err := trifirma.ComposeAlgorithm(bad, rsaPub); !errors.Is(err, trifirma.ErrUnsupportedAlgorithm) {
			t.Errorf("ComposeAlgorithm(%q) err = %v", bad, err)
		}
	}
}

func TestVerifySignature(t *testing.T) {
	pki := testpki.Get(t)
	for name, id := range pki.Identities() {
		t.Run(name, func(t *testing.T) {
			alg, err := trifirma.ComposeAlgorithm("SHA256", id.Key.Public())
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("signed attributes")
			sig, err := id.Key.Sign(nil, alg.Digest(msg), alg.SignerOpts())
			if err != nil {
				t.Fatal(err)
			}
			if err := trifirma.VerifySignature(id.Cert, alg, msg, sig); err != nil {
				t.Fatal(err)
			}
			if err := trifirma.VerifySignature(id.Cert, alg, []byte("other"), sig); !errors.Is(err, trifirma.ErrBadSignatureValue) {
				t.Fatalf("wrong message accepted: %v", err)
			}
			if err := trifirma.VerifySignature(pki.RSA2.Cert, alg, msg, sig); err == nil {
				t.Fatal("wrong certificate accepted")
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]trifirma.Format{
		"CAdES": trifirma.FormatCAdES, "pades": trifirma.FormatPAdES, "XAdEStri": trifirma.FormatXAdES,
		"Factura-e": trifirma.FormatFacturaE, "NONE": trifirma.FormatNONE, "cades-asic-s-tri": trifirma.FormatCAdESASiCS,
	} {
		if got, err := trifirma.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "PKCS1", "XAdES Detached", "auto"} {
		if _, err := trifirma.ParseFormat(bad); !errors.Is(err, trifirma.ErrUnsupportedFormat) {
			t.Errorf("ParseFormat(%q) err = %v", bad, err)
		}
	}
}

func TestParams(t *testing.T) {
	p, err := trifirma.DecodeParams(trifirma.Params{"mode": "implicit", "n": "3", "b": "TRUE"}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if p.Get("mode", "") != "implicit" || !p.Bool("b", false) || p.Bool("x", false) || !p.Bool("x", true) {
		t.Fatalf("params %v", p)
	}
	if n, err := p.Int("n", 0); err != nil || n != 3 {
		t.Fatalf("Int = %d, %v", n, err)
	}
	if _, err := (trifirma.Params{"n": "x"}).Int("n", 0); !errors.Is(err, trifirma.ErrInvalidParams) {
		t.Fatal("bad int accepted")
	}
	if _, err := trifirma.DecodeParams("!!!"); !errors.Is(err, trifirma.ErrInvalidParams) {
		t.Fatal("bad base64 accepted")
	}
	if (trifirma.Params{"a": "b=c"}).Digest() == (trifirma.Params{"a=b": "c"}).Digest() {
		t.Fatal("digest is ambiguous")
	}
}
