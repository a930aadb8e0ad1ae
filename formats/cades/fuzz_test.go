package cades_test

import (
	"bytes"
	"context"
	"crypto"
	"os"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/internal/cms"
	"github.com/trifirma/trifirma/internal/testpki"
)

// FuzzParseSignedAttributes feeds arbitrary PRE values to the strict parser: it must never
// panic, and whatever it accepts must be a DER SET whose re-encoding is identical.
func FuzzParseSignedAttributes(f *testing.F) {
	for _, name := range []string{"cades-sha256", "cades-epes-sha512", "countersignature-sha384", "pades-sha256"} {
		if b, err := os.ReadFile("testdata/golden/" + name + ".der"); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{0x31, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		attrs, err := cades.ParseSignedAttributes(b)
		if err != nil {
			return
		}
		enc := make([][]byte, len(attrs))
		for i := range attrs {
			a := cms.Attribute{Type: attrs[i].Type, Values: attrs[i].Values}
			enc[i] = a.Encode()
		}
		if got := cms.SetOf(cms.TagSet, enc, false).Bytes(); !bytes.Equal(got, b) {
			t.Fatalf("accepted a non-DER attribute set\n% x\n% x", b, got)
		}
		if _, ok := cms.MessageDigestOf(attrs); !ok {
			t.Fatal("accepted a set without message-digest")
		}
	})
}

// FuzzPostsignSession: a postsign with an arbitrary PRE and PK1 never panics and never
// returns a signature (the PK1 cannot verify for a PRE it was not made for).
func FuzzPostsignSession(f *testing.F) {
	pki := testpki.MustGet()
	e := cades.New(cades.Config{})
	if b, err := os.ReadFile("testdata/golden/cades-sha256.der"); err == nil {
		f.Add(b, []byte{1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, pre, pk1 []byte) {
		td := &trifirma.TriphaseData{Signs: []*trifirma.SignData{{ID: "x", Params: []trifirma.Param{
			{Name: trifirma.ParamPRE, Value: trifirma.EncodeStd(pre)}, {Name: trifirma.ParamPK1, Value: trifirma.EncodeStd(pk1)}}}}}
		req := &trifirma.Request{Operation: trifirma.OpSign, Document: []byte("d"), Chain: pki.RSA.Chain,
			Algorithm: trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}}
		if out, err := e.Postsign(context.Background(), req, td); err == nil || out != nil {
			t.Fatalf("postsign accepted PRE % x", pre)
		}
	})
}
