package trifirma_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"

	"github.com/trifirma/trifirma"
)

// TestParseChainKeepsEveryByte is the regression test for a chain parser that trimmed "white
// space" off DER: a certificate whose last byte happens to be 0x09–0x0d or 0x20 (about one in
// 40 ECDSA signatures) was rejected.
func TestParseChainKeepsEveryByte(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for i := 1; i <= 2000 && found < 3; i++ {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i)), Subject: pkix.Name{CommonName: "x"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.ContainsRune("\t\n\v\f\r ", rune(der[len(der)-1])) {
			continue
		}
		found++
		if _, err := trifirma.ParseChain([][]byte{der}); err != nil {
			t.Fatalf("certificate ending in %#x: %v", der[len(der)-1], err)
		}
	}
	if found == 0 {
		t.Fatal("no certificate ending in a white-space byte was generated")
	}
}
