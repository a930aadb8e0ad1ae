package cms

import (
	"crypto"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateSeeds = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// sampleSignedData builds a SignedData with two signers, a countersignature tree two levels
// deep, certificates and a CRL placeholder (signature values are dummies: the reader does not
// verify).
func sampleSignedData(attached bool) []byte {
	attrs := SetOf(TagContext0, [][]byte{
		Seq(OIDElem(OIDAttrContentType), Cons(TagSet, OIDElem(OIDData))).Bytes(),
		Seq(OIDElem(OIDAttrMessageDigest), Cons(TagSet, OctetString(make([]byte, 32)))).Bytes(),
	}, false)
	signer := func(serial byte, unsigned *Elem) []byte {
		return Seq(Raw([]byte{2, 1, 1}), Seq(Seq(Cons(TagSet, Seq(OIDElem([]int{2, 5, 4, 3}), UTF8("CA")))), Raw([]byte{2, 1, serial})),
			Seq(OIDElem(OIDSHA256)), attrs, Seq(OIDElem(OIDRSAEncryption), Null()), OctetString([]byte{serial, serial}), unsigned).Bytes()
	}
	cs2 := signer(4, nil)
	cs1 := signer(3, SetOf(TagContext1, [][]byte{Seq(OIDElem(OIDAttrCounterSignature), SetOf(TagSet, [][]byte{cs2}, false)).Bytes()}, false))
	s1 := signer(1, SetOf(TagContext1, [][]byte{Seq(OIDElem(OIDAttrCounterSignature), SetOf(TagSet, [][]byte{cs1}, false)).Bytes()}, false))
	s2 := signer(2, nil)
	sd := NewSignedData(OIDData, []byte("content of the sample"), attached)
	_ = sd.AddDigestAlgorithm(crypto.SHA256)
	sd.Certificates = [][]byte{Seq(Raw([]byte{2, 1, 1})).Bytes()}
	sd.CRLs = [][]byte{Seq(Raw([]byte{2, 1, 9})).Bytes()}
	sd.AddSignerInfo(s1)
	sd.AddSignerInfo(s2)
	return sd.Encode()
}

func TestSampleParses(t *testing.T) {
	for _, attached := range []bool{false, true} {
		der := sampleSignedData(attached)
		for _, in := range [][]byte{der, berify(t, der, 4)} {
			sd, err := ParseSignedData(in)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			_ = sd.Walk(func(*SignerInfo, int) error { n++; return nil })
			if n != 4 || sd.HasContent != attached || len(sd.CRLs) != 1 {
				t.Fatalf("signers %d content %v crls %d", n, sd.HasContent, len(sd.CRLs))
			}
		}
	}
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update to rewrite testdata/fuzz")
	}
	var seeds [][]byte
	for _, attached := range []bool{false, true} {
		der := sampleSignedData(attached)
		seeds = append(seeds, der, berify(t, der, 4), der[:len(der)/2])
	}
	for _, fz := range []string{"FuzzParseSignedData", "FuzzToDER"} {
		dir := filepath.Join("testdata", "fuzz", fz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
