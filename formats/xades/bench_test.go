package xades_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/xades"
	"github.com/trifirma/trifirma/internal/testpki"
)

var benchSizes = []struct {
	name string
	n    int
}{{"10KB", 10 << 10}, {"1MB", 1 << 20}, {"50MB", 50 << 20}}

func benchBinary(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	return b
}

func benchXML(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<facturas xmlns="urn:example:f" xmlns:x="urn:example:x">` + "\n")
	for i := 0; b.Len() < n-64; i++ {
		fmt.Fprintf(&b, "  <linea n=\"%d\" x:tipo=\"a&amp;b\"><concepto>Art\u00edculo %d &lt;ref&gt;</concepto><importe>%d.%02d</importe></linea>\n", i, i, i*3, i%100)
	}
	b.WriteString("</facturas>\n")
	return b.Bytes()
}

// sha256Baseline returns the time of one SHA-256 pass over data.
func sha256Baseline(data []byte) time.Duration {
	best := time.Duration(1 << 62)
	for range 3 {
		t0 := time.Now()
		sha256.Sum256(data)
		if d := time.Since(t0); d < best {
			best = d
		}
	}
	return best
}

func report(b *testing.B, base time.Duration) {
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(per/float64(base.Nanoseconds()), "x-sha256")
}

// BenchmarkPresign measures presign per variant and size, as a ratio to one SHA-256 pass
// over the same bytes (x-sha256). References use SHA-256 so the ratio compares like with like;
// the "sha512" rows use the default SHA-512.
func BenchmarkPresign(b *testing.B) {
	pki := testpki.Get(b)
	e := xades.New(xades.Config{})
	cases := []struct {
		name, variant, digest string
		xml                   bool
	}{
		{"external", xades.VariantExternal, "SHA-256", false},
		{"detached", xades.VariantDetached, "SHA-256", false},
		{"detached-sha512", xades.VariantDetached, "SHA-512", false},
		{"enveloping", xades.VariantEnveloping, "SHA-256", false},
		{"enveloping-xml", xades.VariantEnveloping, "SHA-256", true},
		{"detached-xml", xades.VariantDetached, "SHA-256", true},
		{"enveloped", xades.VariantEnveloped, "SHA-256", true},
	}
	for _, c := range cases {
		for _, sz := range benchSizes {
			b.Run(c.name+"/"+sz.name, func(b *testing.B) {
				data := benchBinary(sz.n)
				if c.xml {
					data = benchXML(sz.n)
				}
				p := trifirma.Params{"format": c.variant, "referencesDigestMethod": c.digest, "uri": "https://example.invalid/d"}
				req := request(pki.RSA, trifirma.OpSign, data, p)
				base := sha256Baseline(data)
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := e.Presign(context.Background(), req); err != nil {
						b.Fatal(err)
					}
				}
				report(b, base)
			})
		}
	}
}

// BenchmarkPostsign measures postsign (assembly plus the full verification of the output).
func BenchmarkPostsign(b *testing.B) {
	pki := testpki.Get(b)
	e := xades.New(xades.Config{})
	for _, c := range []struct {
		name, variant string
		xml           bool
	}{{"detached", xades.VariantDetached, false}, {"enveloping", xades.VariantEnveloping, false}, {"enveloped", xades.VariantEnveloped, true}} {
		for _, sz := range benchSizes {
			b.Run(c.name+"/"+sz.name, func(b *testing.B) {
				data := benchBinary(sz.n)
				if c.xml {
					data = benchXML(sz.n)
				}
				req := request(pki.RSA, trifirma.OpSign, data, trifirma.Params{"format": c.variant, "referencesDigestMethod": "SHA-256"})
				td, err := e.Presign(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				signSessionB(b, pki.RSA, req, td)
				base := sha256Baseline(data)
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := e.Postsign(context.Background(), req, td); err != nil {
						b.Fatal(err)
					}
				}
				report(b, base)
			})
		}
	}
}
