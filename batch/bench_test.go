//go:build unix

package batch_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/batch"
	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/docmanager"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/formats/pades"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/postsign"
	"github.com/trifirma/trifirma/presign"
)

// genDocs is a zero-copy document manager: every reference designates the same read-only
// document (engines never write to a request's document), as a store that hands out cached or
// memory-mapped files would, so that the benchmarks compare the batch machinery with the
// engines rather than with the cost of producing documents. What it stores is discarded.
type genDocs struct {
	template []byte
	stored   atomic.Int64
}

func newGenDocs(size int) *genDocs { return &genDocs{template: document("template", size)} }

// newGenPDFs serves one PDF of about size bytes.
func newGenPDFs(size int) *genDocs {
	return &genDocs{template: pdftest.Build(pdftest.Options{Pages: 3, Padding: size})}
}

func (g *genDocs) doc(string) []byte { return g.template }

func (g *genDocs) GetDocument(_ context.Context, ref string, _ []*x509.Certificate, _ trifirma.Params) ([]byte, error) {
	return g.doc(ref), nil
}

func (g *genDocs) StoreDocument(_ context.Context, _ string, _ []*x509.Certificate, sig []byte, _ trifirma.Params) (string, error) {
	g.stored.Add(int64(len(sig)))
	return "", nil
}

// StoreSignature makes genDocs a docmanager.SignatureStorer: a streamed signature (PAdES) is
// written out, to nowhere, without being copied into one buffer.
func (g *genDocs) StoreSignature(_ context.Context, _ string, _ []*x509.Certificate, sig trifirma.Signature, _ trifirma.Params) (string, error) {
	n, err := sig.WriteTo(io.Discard)
	g.stored.Add(n)
	return "", err
}

// cpuTime returns the CPU time (user + system) of the process so far: unlike wall time it does
// not depend on what else the shared machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapPeak samples the live heap every millisecond until stop is called and returns the peak
// above the level at the start.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		if p := peak.Load(); p > base {
			return p - base
		}
		return 0
	}
}

// BenchmarkBatchCAdES presigns and postsigns batches of 10 KB CAdES documents (RSA-2048,
// SHA-256, explicit) in process and reports:
//
//   - items/s (wall clock, device signatures excluded);
//   - peak-heap-MiB: the peak heap (live objects and garbage not yet swept) above the level
//     before the batch, next to session-MiB, the size of the signed session as XML: the
//     per-entry state (sessions in, results out) is all that grows with the item count;
//   - x-target: wall time over the target, the single-signature cost (presign + postsign of one
//     document through the same phases, measured in the same run) × items / cores;
//   - x-single-cpu: process CPU time per item over the single-signature CPU time (independent of
//     other load on a shared machine);
//   - cores-used: process CPU time over wall time (below the core count when the machine is
//     shared: then x-target is inflated and x-single-cpu is the meaningful ratio);
//   - x-sha256: wall time over crypto/sha256 of the same bytes.
func BenchmarkBatchCAdES(b *testing.B) {
	for _, c := range []struct{ items, size int }{{100, 10 << 10}, {1000, 10 << 10}, {300, 100 << 10}} {
		b.Run(fmt.Sprintf("items=%d/doc=%dKiB", c.items, c.size>>10), func(b *testing.B) {
			benchBatch(b, trifirma.FormatCAdES, cades.New(cades.Config{}), newGenDocs(c.size), c.items)
		})
	}
}

// BenchmarkBatchPAdES is BenchmarkBatchCAdES for a 100-item batch of 1 MB PDFs (each item
// signed by incremental update).
func BenchmarkBatchPAdES(b *testing.B) {
	b.Run("items=100/doc=1MiB", func(b *testing.B) {
		benchBatch(b, trifirma.FormatPAdES, pades.New(pades.Config{}), newGenPDFs(1<<20), 100)
	})
}

func benchBatch(b *testing.B, format trifirma.Format, engine trifirma.Engine, docs *genDocs, items int) {
	pki := testpki.MustGet()
	id := pki.RSA
	engines := trifirma.Registry{format: engine}
	sealer := trifirma.GenerateSealer()
	pre := &presign.Presigner{Engines: engines, Sealer: sealer}
	post := &postsign.Postsigner{Engines: engines, Sealer: sealer}
	s, err := batch.New(batch.Config{Presigner: pre, Postsigner: post, Documents: docs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	bt := &batch.Batch{Algorithm: "SHA256", Format: format}
	for i := range items {
		ref := fmt.Sprintf("exp-%05d", i)
		bt.Items = append(bt.Items, &batch.Item{ID: ref, Source: batch.Source{Value: ref}})
	}
	alg, _ := batch.BatchAlgorithm("SHA256", id.Cert)
	ctx := context.Background()

	// The single-signature cost: documents signed one at a time through the same phases, each
	// obtained and stored the way the batch does it (document manager in and out), device
	// signatures excluded. After a warm-up, the median of five rounds of up to 200 documents
	// (the rounds of a busy shared machine vary).
	const rounds = 5
	var walls, cpus []time.Duration
	for round := range rounds + 1 {
		n := min(items, 200)
		var wall, cpu time.Duration
		for r := range n {
			ref := fmt.Sprintf("single-%05d", r)
			params := trifirma.Params{"headless": "true", "SignatureId": ref}
			start, c := time.Now(), cpuTime()
			doc, err := docs.GetDocument(ctx, ref, id.Chain, params)
			if err != nil {
				b.Fatal(err)
			}
			req := &trifirma.Request{Operation: trifirma.OpSign, Format: format, Document: doc, Chain: id.Chain, Algorithm: alg, Params: params}
			td, err := pre.Presign(ctx, req)
			wall, cpu = wall+time.Since(start), cpu+cpuTime()-c
			if err != nil {
				b.Fatal(err)
			}
			if err := client.SignSession(td, id.Key, "SHA256"); err != nil {
				b.Fatal(err)
			}
			start, c = time.Now(), cpuTime()
			if doc, err = docs.GetDocument(ctx, ref, id.Chain, params); err != nil {
				b.Fatal(err)
			}
			req.Params, req.Document = params.Clone(), doc
			sig, err := post.PostsignStream(ctx, req, td)
			if err != nil {
				b.Fatal(err)
			}
			_, err = docmanager.StoreSignature(ctx, docs, ref, id.Chain, sig, params)
			wall, cpu = wall+time.Since(start), cpu+cpuTime()-c
			if err != nil {
				b.Fatal(err)
			}
		}
		if round > 0 {
			walls, cpus = append(walls, wall/time.Duration(n)), append(cpus, cpu/time.Duration(n))
		}
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	single, singleCPU := walls[rounds/2], cpus[rounds/2]
	// crypto/sha256 over the same bytes.
	all := make([][]byte, items)
	for i := range all {
		all[i] = docs.doc(bt.Items[i].ID)
	}
	start := time.Now()
	for _, d := range all {
		sha256.Sum256(d)
	}
	shaTime := time.Since(start)
	all = nil

	// run presigns and postsigns the batch once (device signatures in between, not timed) and
	// returns the wall and CPU time of the two phases.
	var sessionSize int
	run := func() (time.Duration, time.Duration) {
		start, c := time.Now(), cpuTime()
		p, err := s.Presign(ctx, bt, id.Chain)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Failures) > 0 {
			b.Fatalf("presign failures: %+v", p.Failures[0])
		}
		wall, cpu := time.Since(start), cpuTime()-c
		b.StopTimer()
		td := p.Session()
		p = nil
		if err := client.SignSession(td, id.Key, "SHA256"); err != nil {
			b.Fatal(err)
		}
		sessionSize = len(td.Marshal())
		b.StartTimer()
		start, c = time.Now(), cpuTime()
		res, err := s.PostsignWith(ctx, bt, id.Chain, td, batch.PostsignOptions{DropNewIDs: true})
		if err != nil {
			b.Fatal(err)
		}
		wall, cpu = wall+time.Since(start), cpu+cpuTime()-c
		for _, r := range res {
			if r.Code != batch.DoneAndSaved {
				b.Fatalf("%s: %s %s", r.ID, r.Code, r.Description)
			}
		}
		return wall, cpu
	}
	// The peak heap is measured on a run of its own: the sampler wakes every millisecond, which
	// would weigh on the timed runs.
	stop := heapPeak()
	run()
	peak := stop()
	var elapsed, cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w, c := run()
		elapsed, cpu = elapsed+w, cpu+c
	}
	b.StopTimer()
	cores := runtime.GOMAXPROCS(0)
	perIter := elapsed / time.Duration(b.N)
	target := single * time.Duration(items) / time.Duration(cores)
	b.ReportMetric(float64(items)/perIter.Seconds(), "items/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(sessionSize)/(1<<20), "session-MiB")
	b.ReportMetric(float64(perIter)/float64(target), "x-target")
	b.ReportMetric(float64(single.Microseconds()), "single-µs")
	b.ReportMetric(float64(cpu)/float64(b.N*items)/float64(singleCPU), "x-single-cpu")
	b.ReportMetric(float64(cpu)/float64(elapsed), "cores-used")
	b.ReportMetric(float64(perIter)/float64(shaTime), "x-sha256")
}
