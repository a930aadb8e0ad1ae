package cades_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/internal/testpki"
)

var benchSizes = []struct {
	name string
	n    int
}{{"1KB", 1 << 10}, {"1MB", 1 << 20}, {"64MB", 64 << 20}}

var benchDocs = map[int][]byte{}

func benchDoc(n int) []byte {
	if d, ok := benchDocs[n]; ok {
		return d
	}
	d := make([]byte, n)
	_, _ = rand.Read(d)
	benchDocs[n] = d
	return d
}

// sha256Baseline measures one crypto/sha256 pass over doc (best of a few runs), in the same
// process and moment as the benchmark it is compared with.
func sha256Baseline(doc []byte) time.Duration {
	best := time.Duration(1<<63 - 1)
	runs := 5
	if len(doc) >= 32<<20 {
		runs = 3
	}
	for range runs {
		t0 := time.Now()
		sha256.Sum256(doc)
		best = min(best, time.Since(t0))
	}
	return best
}

func reportRatio(b *testing.B, base time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(base.Nanoseconds()), "x_sha256")
}

// BenchmarkSHA256 is the baseline: one SHA-256 pass over the same bytes.
func BenchmarkSHA256(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			doc := benchDoc(s.n)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			for b.Loop() {
				sha256.Sum256(doc)
			}
		})
	}
}

// BenchmarkPresign measures CAdES sign presign (SHA256withRSA): one pass over the document
// plus the signed attributes. The x_sha256 metric is ns/op divided by one SHA-256 pass over the
// same bytes measured just before.
func BenchmarkPresign(b *testing.B) {
	pki := testpki.MustGet()
	e := cades.New(cades.Config{})
	for _, m := range []string{"explicit", "implicit"} {
		for _, s := range benchSizes {
			b.Run(fmt.Sprintf("%s/%s", m, s.name), func(b *testing.B) {
				doc := benchDoc(s.n)
				req := &trifirma.Request{Operation: trifirma.OpSign, Document: doc, Chain: pki.RSA.Chain,
					Algorithm: trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA},
					Params:    trifirma.Params{"mode": m, "SignatureId": "bench"}, Time: signTime}
				base := sha256Baseline(doc)
				b.SetBytes(int64(s.n))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := e.Presign(context.Background(), req); err != nil {
						b.Fatal(err)
					}
				}
				reportRatio(b, base)
			})
		}
	}
}

// BenchmarkPostsign measures CAdES sign postsign (the device's PK1 is made once, outside the
// loop). Explicit postsign does not touch the document; implicit postsign hashes it once (to
// check it against PRE) and copies it once into the output.
func BenchmarkPostsign(b *testing.B) {
	pki := testpki.MustGet()
	e := cades.New(cades.Config{})
	alg := trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}
	for _, m := range []string{"explicit", "implicit"} {
		for _, s := range benchSizes {
			b.Run(fmt.Sprintf("%s/%s", m, s.name), func(b *testing.B) {
				doc := benchDoc(s.n)
				req := &trifirma.Request{Operation: trifirma.OpSign, Document: doc, Chain: pki.RSA.Chain, Algorithm: alg,
					Params: trifirma.Params{"mode": m}, Time: signTime}
				td, err := e.Presign(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				device(b, pki.RSA, alg, td)
				base := sha256Baseline(doc)
				b.SetBytes(int64(s.n))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := e.Postsign(context.Background(), req, td); err != nil {
						b.Fatal(err)
					}
				}
				reportRatio(b, base)
			})
		}
	}
}

// BenchmarkCosignImplicit measures presign and postsign of a co-signature of an implicit
// signature (the content is read from the existing CMS, never copied before the output).
func BenchmarkCosignImplicit(b *testing.B) {
	pki := testpki.MustGet()
	e := cades.New(cades.Config{})
	alg := trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}
	for _, s := range benchSizes {
		doc := benchDoc(s.n)
		sig := sign(b, pki.RSA2, trifirma.OpSign, doc, crypto.SHA256, trifirma.Params{"mode": "implicit"})
		req := &trifirma.Request{Operation: trifirma.OpCoSign, Document: sig, Chain: pki.RSA.Chain, Algorithm: alg, Time: signTime}
		b.Run("presign/"+s.name, func(b *testing.B) {
			base := sha256Baseline(doc)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.Presign(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
			reportRatio(b, base)
		})
		b.Run("postsign/"+s.name, func(b *testing.B) {
			td, err := e.Presign(context.Background(), req)
			if err != nil {
				b.Fatal(err)
			}
			device(b, pki.RSA, alg, td)
			base := sha256Baseline(doc)
			b.SetBytes(int64(s.n))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.Postsign(context.Background(), req, td); err != nil {
					b.Fatal(err)
				}
			}
			reportRatio(b, base)
		})
	}
}
