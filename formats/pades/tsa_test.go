package pades_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/formats/pades"
	"github.com/trifirma/trifirma/internal/cms"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
	"github.com/trifirma/trifirma/tsa/tsatest"
)

var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// lastCMS returns the CMS of the newest signature of a signed PDF (the /Contents the last
// /ByteRange frames).
func lastCMS(t *testing.T, pdf []byte) *cms.SignedData {
	t.Helper()
	m := byteRangeRE.FindAllSubmatch(pdf, -1)
	if len(m) == 0 {
		t.Fatal("no /ByteRange in the signed PDF")
	}
	last := m[len(m)-1]
	b, _ := strconv.Atoi(string(last[2]))
	c, _ := strconv.Atoi(string(last[3]))
	if b <= 0 || c <= b+2 || c > len(pdf) || pdf[b] != '<' || pdf[c-1] != '>' {
		t.Fatalf("the ByteRange [%s %s] does not frame a hex string", last[2], last[3])
	}
	der, err := hex.DecodeString(string(pdf[b+1 : c-1]))
	if err != nil {
		t.Fatal(err)
	}
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(der, &raw); err != nil {
		t.Fatalf("/Contents is not DER: %v", err)
	}
	sd, err := cms.ParseSignedData(raw.FullBytes)
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

// TestTimestamp signs and co-signs with tsaURL through Config.TSA against the loopback test
// TSA: each CMS carries a signature time-stamp, and the validators accept both signatures with
// the test root (which also issued the TSA's certificate).
func TestTimestamp(t *testing.T) {
	pki := testpki.Get(t)
	key, chain := tsatest.Identity(t, pki.Root, pki.RootKey)
	srv := tsatest.New(t, key, chain)
	eng := pades.New(pades.Config{TSA: cades.AllowTSA(nil, srv.URL)})
	sign := func(doc []byte, id *testpki.Identity, p trifirma.Params) ([]byte, error) {
		return trifirma.Sign(ctx, doc, id.Key, id.Chain, trifirma.SignOptions{
			Engine: eng, Format: trifirma.FormatPAdES, Hash: crypto.SHA256, Params: p, Time: fixedTime})
	}
	p := trifirma.Params{"tsaURL": srv.URL, "tsaHashAlgorithm": "SHA-256"}
	doc := benchDoc(0)
	first, err := sign(doc, pki.RSA, p)
	if err != nil {
		t.Fatal(err)
	}
	second, err := sign(first, pki.EC, p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(second, first) {
		t.Fatal("the co-signature rewrote the first revision")
	}
	for i, out := range [][]byte{first, second} {
		n := 0
		_ = lastCMS(t, out).Walk(func(si *cms.SignerInfo, _ int) error {
			if _, ok := si.Unsigned(cms.OIDAttrTimeStampToken); ok {
				n++
			}
			return nil
		})
		if n != 1 {
			t.Fatalf("signature %d has %d signature time-stamps, want 1", i+1, n)
		}
	}
	if got := srv.Requests.Load(); got != 2 {
		t.Fatalf("the TSA served %d requests, want 2 (one per postsign)", got)
	}
	validate.PAdES(t, second, validate.Options{Roots: []*x509.Certificate{pki.Root}, Signers: 2})

	// A URL that is not allowed is refused before anything is signed; a bad time-stamp
	// response fails the postsign.
	if _, err := sign(doc, pki.RSA, trifirma.Params{"tsaURL": "http://127.0.0.1:1/other"}); !errors.Is(err, trifirma.ErrInvalidParams) {
		t.Fatalf("TSA outside the allow-list: %v", err)
	}
	srv.Fault.Store(int32(tsatest.WrongNonce))
	if out, err := sign(doc, pki.RSA, p); err == nil || out != nil {
		t.Fatalf("a bad time-stamp response produced a signature (err %v)", err)
	}
}
