package pades_test

import (
	"crypto"
	"crypto/sha256"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/pades"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testpki"
)

// benchSizes are the document sizes of the benchmarks; 200 MB only without -short.
func benchSizes() []int {
	s := []int{100 << 10, 10 << 20}
	if !testing.Short() {
		s = append(s, 200<<20)
	}
	return s
}

// sha256Time measures one SHA-256 pass over doc (best of three), the baseline of the ratios.
func sha256Time(doc []byte) time.Duration {
	best := time.Duration(1 << 62)
	for i := 0; i < 3; i++ {
		st := time.Now()
		sha256.Sum256(doc)
		best = min(best, time.Since(st))
	}
	return best
}

func benchDoc(size int) []byte {
	return pdftest.Build(pdftest.Options{Pages: 3, Padding: size})
}

// allocated runs f once and returns the bytes it allocated: an upper bound of the heap it
// added on top of the document.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func BenchmarkPresign(b *testing.B) {
	pki := testpki.MustGet()
	eng := pades.New(pades.Config{})
	for _, size := range benchSizes() {
		doc := benchDoc(size)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			base := sha256Time(doc)
			req := &trifirma.Request{Operation: trifirma.OpSign, Document: doc, Chain: pki.RSA.Chain,
				Algorithm: trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}, Time: fixedTime}
			run := func() {
				if _, err := eng.Presign(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			alloc := allocated(run)
			b.SetBytes(int64(len(doc)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run()
			}
			b.StopTimer()
			per := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(per)/float64(base), "x-sha256")
			b.ReportMetric(float64(alloc)/float64(len(doc)), "alloc/size")
		})
	}
}

func BenchmarkPostsign(b *testing.B) {
	pki := testpki.MustGet()
	eng := pades.New(pades.Config{})
	alg := trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}
	for _, size := range benchSizes() {
		doc := benchDoc(size)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			req := &trifirma.Request{Operation: trifirma.OpSign, Document: doc, Chain: pki.RSA.Chain, Algorithm: alg, Time: fixedTime}
			td, err := eng.Presign(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			pre, _ := td.Signs[0].Bytes("PRE")
			sig, err := pki.RSA.Key.Sign(nil, alg.Digest(pre), alg.SignerOpts())
			if err != nil {
				b.Fatal(err)
			}
			td.Signs[0].Set("PK1", trifirma.EncodeStd(sig))
			base := sha256Time(doc)
			run := func() {
				if _, err := eng.Postsign(ctx, req, td); err != nil {
					b.Fatal(err)
				}
			}
			alloc := allocated(run)
			b.SetBytes(int64(len(doc)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run()
			}
			b.StopTimer()
			per := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(per)/float64(base), "x-sha256")
			b.ReportMetric(float64(alloc)/float64(len(doc)), "alloc/size")
		})
	}
}
