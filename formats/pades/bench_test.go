package pades_test

import (
	"crypto"
	"crypto/sha256"
	"fmt"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
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

func benchDoc(size int) []byte {
	return pdftest.Build(pdftest.Options{Pages: 3, Padding: size})
}

// sha256Pass is the baseline: one crypto/sha256 pass over doc, written in the same 1 MB
// pieces as the engine's (one call over the whole document cannot be preempted, which makes
// the garbage collector spin and both sides slower).
func sha256Pass(doc []byte) {
	h := sha256.New()
	for len(doc) > 0 {
		n := min(len(doc), 1<<20)
		h.Write(doc[:n])
		doc = doc[n:]
	}
	h.Sum(nil)
}

// measure runs op b.N times, each followed by one SHA-256 pass over doc, timing both: ns/op is
// the operation alone and x-sha256 the ratio of the two totals, so that both sides of the ratio
// see the same load of the (shared) machine.
func measure(b *testing.B, doc []byte, op func()) {
	b.Helper()
	var opT, shaT time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		op()
		t1 := time.Now()
		sha256Pass(doc)
		shaT += time.Since(t1)
		opT += t1.Sub(t0)
	}
	b.StopTimer()
	b.ReportMetric(float64(opT.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(opT)/float64(shaT), "x-sha256")
	b.ReportMetric(float64(len(doc))/(float64(opT.Nanoseconds())/float64(b.N))*1e3, "MB/s")
}

// heapObjects reads the bytes of heap objects (live, or dead and not yet swept) without
// stopping the world.
func heapObjects(s []metrics.Sample) uint64 {
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakHeap runs f once and returns (1) the peak of the heap's object bytes above their level
// before the call, sampled every 20µs by another goroutine while f runs with the garbage
// collector on, and (2) an upper bound of that peak: every byte f allocates, counted with the
// collector off.
func peakHeap(f func()) (peak, bound uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	runtime.GC()
	runtime.GC()
	base := heapObjects(s)
	var max uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ss := []metrics.Sample{{Name: s[0].Name}}
		t := time.NewTicker(20 * time.Microsecond)
		defer t.Stop()
		for {
			if v := heapObjects(ss); v > max {
				max = v
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	if v := heapObjects(s); v > max {
		max = v
	}
	close(stop)
	wg.Wait()
	if max > base {
		peak = max - base
	}
	runtime.GC()
	old := debug.SetGCPercent(-1)
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	debug.SetGCPercent(old)
	runtime.GC()
	return peak, b.TotalAlloc - a.TotalAlloc
}

type benchCase struct {
	eng  *pades.Engine
	req  *trifirma.Request
	td   *trifirma.TriphaseData
	size int
}

func newBenchCase(tb testing.TB, size int) *benchCase {
	pki := testpki.Get(tb)
	eng := pades.New(pades.Config{})
	alg := trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}
	doc := benchDoc(size)
	req := &trifirma.Request{Operation: trifirma.OpSign, Document: doc, Chain: pki.RSA.Chain, Algorithm: alg, Time: fixedTime}
	td, err := eng.Presign(ctx, req)
	if err != nil {
		tb.Fatal(err)
	}
	pre, _ := td.Signs[0].Bytes("PRE")
	sig, err := pki.RSA.Key.Sign(nil, alg.Digest(pre), alg.SignerOpts())
	if err != nil {
		tb.Fatal(err)
	}
	td.Signs[0].Set("PK1", trifirma.EncodeStd(sig))
	return &benchCase{eng: eng, req: req, td: td, size: len(doc)}
}

func (c *benchCase) presign(tb testing.TB) func() {
	return func() {
		if _, err := c.eng.Presign(ctx, c.req); err != nil {
			tb.Fatal(err)
		}
	}
}

func (c *benchCase) postsign(tb testing.TB) func() {
	return func() {
		if _, err := c.eng.Postsign(ctx, c.req, c.td); err != nil {
			tb.Fatal(err)
		}
	}
}

func (c *benchCase) postsignIncremental(tb testing.TB) func() {
	return func() {
		if _, err := c.eng.PostsignIncremental(ctx, c.req, c.td); err != nil {
			tb.Fatal(err)
		}
	}
}

// postsignRebuild is postsignIncremental on an engine that keeps nothing from presign (the
// postsign of a session another server presigned): it parses the document and writes the
// update again.
func (c *benchCase) postsignRebuild(tb testing.TB) func() {
	eng := pades.New(pades.Config{RevisionCache: -1})
	return func() {
		if _, err := eng.PostsignIncremental(ctx, c.req, c.td); err != nil {
			tb.Fatal(err)
		}
	}
}

// benchPhase benchmarks one phase at every size, with its time as a multiple of one SHA-256
// pass over the same bytes and its peak heap (above the caller's document) as a multiple of
// the document size.
func benchPhase(b *testing.B, phase func(*benchCase, testing.TB) func()) {
	for _, size := range benchSizes() {
		c := newBenchCase(b, size)
		b.Run(fmt.Sprintf("%dKB", size>>10), func(b *testing.B) {
			op := phase(c, b)
			peak, _ := peakHeap(op)
			measure(b, c.req.Document, op)
			b.ReportMetric(float64(peak)/float64(c.size), "peakheap/size")
		})
	}
}

func BenchmarkPresign(b *testing.B) { benchPhase(b, (*benchCase).presign) }

func BenchmarkPostsign(b *testing.B) { benchPhase(b, (*benchCase).postsign) }

func BenchmarkPostsignIncremental(b *testing.B) { benchPhase(b, (*benchCase).postsignIncremental) }

func BenchmarkPostsignRebuild(b *testing.B) { benchPhase(b, (*benchCase).postsignRebuild) }

// TestPeakHeap bounds the memory of each phase: presign and PostsignIncremental hold nothing
// of the size of the document, Postsign one copy of it (its result). The document itself is
// the caller's and is not counted.
func TestPeakHeap(t *testing.T) {
	sizes := []int{10 << 20}
	if !testing.Short() {
		sizes = append(sizes, 200<<20)
	}
	for _, size := range sizes {
		c := newBenchCase(t, size)
		for _, ph := range []struct {
			name  string
			op    func()
			limit float64
		}{
			{"presign", c.presign(t), 0.1},
			{"postsign", c.postsign(t), 1.1},
			{"postsign-incremental", c.postsignIncremental(t), 0.1},
		} {
			peak, bound := peakHeap(ph.op)
			t.Logf("%dMB %s: peak heap %.3f× the document (bound %.3f×)", size>>20, ph.name,
				float64(peak)/float64(c.size), float64(bound)/float64(c.size))
			if r := float64(bound) / float64(c.size); r > ph.limit {
				t.Errorf("%dMB %s: allocates %.3f× the document size (limit %.1f×)", size>>20, ph.name, r, ph.limit)
			}
		}
	}
}
