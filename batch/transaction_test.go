package batch_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/batch"
	"github.com/trifirma/trifirma/batch/saver"
	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/internal/testpki"
)

const classFlaky = "test.FlakySaver"

// flaky wraps the file saver and fails the k-th Save of the batch run (counting every
// entry's saver).
type flaky struct {
	inner  batch.Saver
	n      *atomic.Int32
	k      int32
	rolled *atomic.Int32
}

func (f *flaky) Save(ctx context.Context, it *batch.Item, sig trifirma.Signature) error {
	if f.n.Add(1) == f.k {
		return fmt.Errorf("flaky saver: save number %d fails", f.k)
	}
	return f.inner.Save(ctx, it, sig)
}

func (f *flaky) Rollback(ctx context.Context, it *batch.Item) error {
	f.rolled.Add(1)
	return f.inner.Rollback(ctx, it)
}

func flakyRegistry(t *testing.T, root string, k int32) (*batch.SaverRegistry, *atomic.Int32, *atomic.Int32) {
	t.Helper()
	fs, err := saver.File(saver.FileConfig{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	var n, rolled atomic.Int32
	reg := batch.NewSaverRegistry()
	reg.Register(batch.ClassSaverFile, fs)
	reg.Register(classFlaky, func(c trifirma.Params) (batch.Saver, error) {
		in, err := fs(c)
		if err != nil {
			return nil, err
		}
		return &flaky{inner: in, n: &n, k: k, rolled: &rolled}, nil
	})
	return reg, &n, &rolled
}

func xmlFileBatch(n int, class string, stop bool) *batch.Batch {
	b := &batch.Batch{Algorithm: "SHA256withRSA", StopOnError: stop}
	for i := range n {
		id := fmt.Sprintf("exp-%02d", i+1)
		b.Items = append(b.Items, &batch.Item{
			ID: id, Format: trifirma.FormatCAdES, Operation: trifirma.OpSign,
			Source:    batch.Source{Kind: batch.SourceBase64, Value: b64.EncodeStd(document(id, 2000))},
			SaverSpec: &batch.SaverSpec{Class: class, Config: trifirma.Params{saver.KeyFileName: id + ".csig"}},
		})
	}
	return b
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range des {
		out = append(out, d.Name())
	}
	return out
}

// TestTransactionalSaveFailure: a saver fails on the k-th save; every earlier save is rolled
// back, the results say so, and nothing is left on disk.
func TestTransactionalSaveFailure(t *testing.T) {
	pki := testpki.Get(t)
	for _, k := range []int32{1, 3, 6} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			out := t.TempDir()
			reg, _, rolled := flakyRegistry(t, out, k)
			e := newEnv(t, func(c *batch.Config) { c.Savers = reg; c.Concurrency = 1 })
			code, body, got := e.signXML(xmlFileBatch(6, classFlaky, true), pki.RSA, nil)
			if code != http.StatusOK {
				t.Fatalf("HTTP %d %s", code, body)
			}
			want := map[string]batch.Code{}
			for i := 1; i <= 6; i++ {
				id := fmt.Sprintf("exp-%02d", i)
				switch {
				case int32(i) < k:
					want[id] = batch.SaveRollbacked
				case int32(i) == k:
					want[id] = batch.DoneButErrorSaving
				default:
					want[id] = batch.DoneButSavedSkipped
				}
			}
			checkResults(t, got, want)
			if int(rolled.Load()) != int(k-1) {
				t.Errorf("%d rollbacks, want %d", rolled.Load(), k-1)
			}
			if left := dirEntries(t, out); len(left) > 0 {
				t.Errorf("files left on disk: %v", left)
			}
		})
	}
}

// TestTransactionalConcurrentSaves: with concurrent saves, the failure still rolls back every
// completed save, whatever the order.
func TestTransactionalConcurrentSaves(t *testing.T) {
	pki := testpki.Get(t)
	out := t.TempDir()
	reg, n, rolled := flakyRegistry(t, out, 9)
	spool := t.TempDir()
	e := newEnv(t, func(c *batch.Config) { c.Savers = reg; c.Concurrency = 4; c.SpoolMemory = -1; c.TempDir = spool })
	code, body, got := e.signXML(xmlFileBatch(20, classFlaky, true), pki.RSA, nil)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d %s", code, body)
	}
	counts := map[string]int{}
	for _, r := range got {
		counts[r.Result]++
	}
	if counts[string(batch.DoneButErrorSaving)] != 1 || counts[string(batch.SaveRollbacked)] != int(rolled.Load()) ||
		counts[string(batch.SaveRollbacked)]+counts[string(batch.DoneButSavedSkipped)] != 19 {
		t.Errorf("results %v (saves attempted %d, rollbacks %d)", counts, n.Load(), rolled.Load())
	}
	if left := dirEntries(t, out); len(left) > 0 {
		t.Errorf("files left on disk: %v", left)
	}
	if left := dirEntries(t, spool); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestTransactionalPostFailure: an entry whose signature cannot be assembled stops the batch
// before anything is saved.
func TestTransactionalPostFailure(t *testing.T) {
	pki := testpki.Get(t)
	out := t.TempDir()
	reg, saves, _ := flakyRegistry(t, out, 1000)
	e := newEnv(t, func(c *batch.Config) { c.Savers = reg; c.Concurrency = 1 })
	b := xmlFileBatch(5, classFlaky, true)
	code, body, got := e.signXML(b, pki.RSA, func(td *trifirma.TriphaseData) {
		// The device returns a wrong value for the third entry.
		for _, sd := range td.Find("exp-03") {
			sd.Set(trifirma.ParamPK1, b64.EncodeStd(make([]byte, 256)))
		}
	})
	if code != http.StatusOK {
		t.Fatalf("HTTP %d %s", code, body)
	}
	checkResults(t, got, map[string]batch.Code{
		"exp-01": batch.DoneButSavedSkipped, "exp-02": batch.DoneButSavedSkipped, "exp-03": batch.ErrorPost,
		"exp-04": batch.Skipped, "exp-05": batch.Skipped,
	})
	if saves.Load() != 0 {
		t.Errorf("%d saves attempted", saves.Load())
	}
	if left := dirEntries(t, out); len(left) > 0 {
		t.Errorf("files left on disk: %v", left)
	}
	for _, r := range got {
		if r.ID == "exp-03" && !strings.Contains(r.Description, "does not verify") {
			t.Errorf("exp-03 description %q", r.Description)
		}
	}
}

// TestTransactionalJSON: the JSON batch rolls back through the document manager.
func TestTransactionalJSON(t *testing.T) {
	pki := testpki.Get(t)
	e := newEnv(t, func(c *batch.Config) { c.Concurrency = 1 })
	e.store.failOn = "exp-04"
	b := &batch.Batch{Algorithm: "SHA256", Format: trifirma.FormatCAdES, StopOnError: true}
	for i := 1; i <= 5; i++ {
		id := fmt.Sprintf("exp-%02d", i)
		b.Items = append(b.Items, &batch.Item{ID: id, Source: batch.Source{Value: b64.EncodeURL(document(id, 1000))}})
	}
	got := e.signJSON(b, pki.EC, nil)
	checkResults(t, got, map[string]batch.Code{
		"exp-01": batch.SaveRollbacked, "exp-02": batch.SaveRollbacked, "exp-03": batch.SaveRollbacked,
		"exp-04": batch.DoneButErrorSaving, "exp-05": batch.DoneButSavedSkipped,
	})
	if n := e.store.count(); n != 0 {
		t.Errorf("%d signatures left in the store", n)
	}
}

// noRollback is a document manager that cannot undo a store.
type noRollback struct{ m *memStore }

func (n noRollback) GetDocument(ctx context.Context, ref string, chain []*x509.Certificate, p trifirma.Params) ([]byte, error) {
	return n.m.GetDocument(ctx, ref, chain, p)
}

func (n noRollback) StoreDocument(ctx context.Context, ref string, chain []*x509.Certificate, sig []byte, p trifirma.Params) (string, error) {
	return n.m.StoreDocument(ctx, ref, chain, sig, p)
}

// TestTransactionalNoRollback: saves that cannot be undone are reported as saved, with the
// reason, not as rolled back.
func TestTransactionalNoRollback(t *testing.T) {
	pki := testpki.Get(t)
	store := newMemStore()
	store.failOn = "exp-02"
	e := newEnv(t, func(c *batch.Config) { c.Concurrency = 1; c.Documents = noRollback{store} })
	b := &batch.Batch{Algorithm: "SHA256", Format: trifirma.FormatNONE, StopOnError: true}
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("exp-%02d", i)
		b.Items = append(b.Items, &batch.Item{ID: id, Source: batch.Source{Value: b64.EncodeURL(document(id, 100))}})
	}
	got := e.signJSON(b, pki.RSA, nil)
	checkResults(t, got, map[string]batch.Code{
		"exp-01": batch.DoneAndSaved, "exp-02": batch.DoneButErrorSaving, "exp-03": batch.DoneButSavedSkipped,
	})
	if !strings.Contains(got[0].Description, "could not be undone") {
		t.Errorf("description %q", got[0].Description)
	}
	validateRaw(t, pki.RSA.Cert, "sha256", document("exp-01", 100), store.get("exp-01"))
}

// TestHTTPPostSaver: the HTTP POST saver posts PostParamName=<Base64url> to an allowed URL on
// 127.0.0.1; in a transaction it cannot be undone and says so.
func TestHTTPPostSaver(t *testing.T) {
	pki := testpki.Get(t)
	ts, received := formReceiver(t)
	out := t.TempDir()
	reg, _, _ := flakyRegistry(t, out, 3)
	reg.Register(batch.ClassSaverHTTPPost, saver.HTTPPost(guardedFetcher(t, []string{ts.URL + "/recibir"}, nil)))
	e := newEnv(t, func(c *batch.Config) { c.Savers = reg; c.Concurrency = 1 })

	b := xmlFileBatch(3, classFlaky, false)
	b.Items[0].SaverSpec = &batch.SaverSpec{Class: batch.ClassSaverHTTPPost, Config: trifirma.Params{
		saver.KeyPostURL: ts.URL + "/recibir?id=exp-01", saver.KeyPostParamName: "firma"}}
	b.Items[0].Format = trifirma.FormatNONE
	code, body, got := e.signXML(b, pki.EC, nil)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d %s", code, body)
	}
	checkResults(t, got, map[string]batch.Code{"exp-01": batch.DoneAndSaved, "exp-02": batch.DoneAndSaved, "exp-03": batch.DoneAndSaved})
	validateRaw(t, pki.EC.Cert, "sha256", document("exp-01", 2000), received("exp-01"))

	// Transactional: the third save (the second file save) fails; the POST cannot be undone.
	for _, f := range dirEntries(t, out) {
		_ = os.Remove(filepath.Join(out, f))
	}
	reg2, _, _ := flakyRegistry(t, out, 2)
	reg2.Register(batch.ClassSaverHTTPPost, saver.HTTPPost(guardedFetcher(t, []string{ts.URL + "/recibir"}, nil)))
	e2 := newEnv(t, func(c *batch.Config) { c.Savers = reg2; c.Concurrency = 1 })
	b.StopOnError = true
	_, _, got = e2.signXML(b, pki.EC, nil)
	checkResults(t, got, map[string]batch.Code{"exp-01": batch.DoneAndSaved, "exp-02": batch.SaveRollbacked, "exp-03": batch.DoneButErrorSaving})
	if !strings.Contains(got[0].Description, "could not be undone") {
		t.Errorf("description %q", got[0].Description)
	}
	if left := dirEntries(t, out); len(left) > 0 {
		t.Errorf("files left on disk: %v", left)
	}

	// A URL outside the allowed prefix makes the batch invalid before anything is signed.
	b.Items[0].SaverSpec.Config[saver.KeyPostURL] = "http://169.254.169.254/latest"
	code, body, _ = e.signXML(b, pki.EC, nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "not under an allowed prefix") {
		t.Errorf("disallowed PostUrl: HTTP %d %q", code, body)
	}
}

// blocking is a saver whose n-th save waits for the request to be cancelled.
type blocking struct {
	inner  batch.Saver
	n      *atomic.Int32
	k      int32
	rolled *atomic.Int32
	ready  chan struct{}
}

func (b *blocking) Save(ctx context.Context, it *batch.Item, sig trifirma.Signature) error {
	if b.n.Add(1) == b.k {
		close(b.ready)
		<-ctx.Done()
		return ctx.Err()
	}
	return b.inner.Save(ctx, it, sig)
}

func (b *blocking) Rollback(ctx context.Context, it *batch.Item) error {
	b.rolled.Add(1)
	return b.inner.Rollback(ctx, it)
}

// TestClientGoesAway: cancelling the request context stops the work, and a transaction whose
// saves had started is rolled back.
func TestClientGoesAway(t *testing.T) {
	pki := testpki.Get(t)
	out := t.TempDir()
	fs, err := saver.File(saver.FileConfig{Root: out})
	if err != nil {
		t.Fatal(err)
	}
	var n, rolled atomic.Int32
	ready := make(chan struct{})
	e := newEnv(t, func(c *batch.Config) { c.Concurrency = 1 })
	b := xmlFileBatch(5, "unused", true)
	for _, it := range b.Items {
		in, err := fs(it.SaverSpec.Config)
		if err != nil {
			t.Fatal(err)
		}
		it.SaverSpec = nil
		it.Saver = &blocking{inner: in, n: &n, k: 4, rolled: &rolled, ready: ready}
	}
	pre, err := e.signer.Presign(context.Background(), b, pki.RSA.Chain)
	if err != nil {
		t.Fatal(err)
	}
	td := pre.Session()
	if err := client.SignSession(td, pki.RSA.Key, b.Algorithm); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-ready; cancel() }()
	res, err := e.signer.Postsign(ctx, b, pki.RSA.Chain, td)
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("Postsign = %v, %v; want context.Canceled", res, err)
	}
	if rolled.Load() != 3 {
		t.Errorf("%d rollbacks, want 3", rolled.Load())
	}
	if left := dirEntries(t, out); len(left) > 0 {
		t.Errorf("files left on disk: %v", left)
	}

	// Presign with a cancelled context does nothing.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := e.signer.Presign(ctx, b, pki.RSA.Chain); !errors.Is(err, context.Canceled) {
		t.Fatalf("Presign with a cancelled context: %v", err)
	}
}

// slowDocs delays every document retrieval.
type slowDocs struct {
	*memStore
	delay time.Duration
}

func (s slowDocs) GetDocument(ctx context.Context, ref string, chain []*x509.Certificate, p trifirma.Params) ([]byte, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.memStore.GetDocument(ctx, ref, chain, p)
}

// TestConcurrentTimeout: entries that the batch's concurrenttimeout interrupts are reported
// with the limit.
func TestConcurrentTimeout(t *testing.T) {
	pki := testpki.Get(t)
	e := newEnv(t, func(c *batch.Config) {
		c.Concurrency = 2
		c.Documents = slowDocs{newMemStore(), 700 * time.Millisecond}
	})
	b := &batch.Batch{Algorithm: "SHA256", Format: trifirma.FormatNONE, ConcurrentTimeout: time.Second}
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("exp-%02d", i)
		b.Items = append(b.Items, &batch.Item{ID: id, Source: batch.Source{Value: b64.EncodeURL(document(id, 100))}})
	}
	start := time.Now()
	pre, err := e.signer.Presign(context.Background(), b, pki.RSA.Chain)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("presign took %v", d)
	}
	if len(pre.Sessions) != 2 || len(pre.Failures) != 2 {
		t.Fatalf("sessions %d failures %+v", len(pre.Sessions), pre.Failures)
	}
	for _, f := range pre.Failures {
		if f.Code != batch.ErrorPre || !strings.Contains(f.Description, "time limit (1s)") {
			t.Errorf("failure %+v", f)
		}
	}
}

// TestTransactionalSuccess: a transactional batch whose signatures are spooled partly in
// memory and partly in temporary files saves them all and leaves no temporary file.
func TestTransactionalSuccess(t *testing.T) {
	pki := testpki.Get(t)
	out, spool := t.TempDir(), t.TempDir()
	reg, _, _ := flakyRegistry(t, out, 1000)
	e := newEnv(t, func(c *batch.Config) { c.Savers = reg; c.Concurrency = 3; c.SpoolMemory = 4000; c.TempDir = spool })
	code, body, got := e.signXML(xmlFileBatch(8, batch.ClassSaverFile, true), pki.EC, nil)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d %s", code, body)
	}
	want := map[string]batch.Code{}
	for i := 1; i <= 8; i++ {
		want[fmt.Sprintf("exp-%02d", i)] = batch.DoneAndSaved
	}
	checkResults(t, got, want)
	if n := len(dirEntries(t, out)); n != 8 {
		t.Errorf("%d files saved", n)
	}
	if left := dirEntries(t, spool); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	sig, err := os.ReadFile(filepath.Join(out, "exp-05.csig"))
	if err != nil {
		t.Fatal(err)
	}
	validateCAdES(t, pki, sig, document("exp-05", 2000), 1)
}
