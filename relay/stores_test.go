package relay_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trifirma/trifirma/relay"
	"github.com/trifirma/trifirma/relay/relaytest"
)

func TestMemoryStore(t *testing.T) {
	relaytest.StoreSuite(t, func(t *testing.T) relay.Store {
		s := relay.NewMemoryStore(relay.MemoryOptions{SweepInterval: 50 * time.Millisecond})
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestDirStore(t *testing.T) {
	relaytest.StoreSuite(t, func(t *testing.T) relay.Store {
		s, err := relay.NewDirStore(t.TempDir(), relay.DirOptions{SweepInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestMemoryStoreExpiryWithClock(t *testing.T) {
	ctx := context.Background()
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	s := relay.NewMemoryStore(relay.MemoryOptions{Now: clk.Now, SweepInterval: -1})
	defer s.Close()
	for i, id := range []string{"a", "b", "c", "d"} {
		if err := s.Put(ctx, id, []byte(id), time.Duration(i+1)*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(2 * time.Second) // a and b expired
	if _, err := s.GetAndDelete(ctx, "a"); !errors.Is(err, relay.ErrNotFound) {
		t.Fatalf("a: %v", err)
	}
	s.Sweep()
	if n := s.Len(); n != 2 {
		t.Fatalf("after sweep %d entries, want 2 (c, d)", n)
	}
	// A Put re-arms an id's expiry.
	if err := s.Put(ctx, "c", []byte("c2"), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	s.Sweep()
	if got, err := s.GetAndDelete(ctx, "c"); err != nil || string(got) != "c2" {
		t.Fatalf("c: %q %v", got, err)
	}
	if n := s.Len(); n != 0 {
		t.Fatalf("%d entries left, want 0", n)
	}
}

func TestMemoryStoreBudget(t *testing.T) {
	ctx := context.Background()
	s := relay.NewMemoryStore(relay.MemoryOptions{MaxBytes: 10, SweepInterval: -1})
	defer s.Close()
	if err := s.Put(ctx, "a", make([]byte, 8), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "b", make([]byte, 8), time.Minute); !errors.Is(err, relay.ErrStoreFull) {
		t.Fatalf("err = %v, want ErrStoreFull", err)
	}
	if _, err := s.GetAndDelete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "b", make([]byte, 8), time.Minute); err != nil {
		t.Fatalf("after freeing: %v", err)
	}
}

func TestDirStoreFiles(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "relay")
	clk := &fakeClock{t: time.Now()}
	s, err := relay.NewDirStore(dir, relay.DirOptions{Now: clk.Now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v, %v", fi.Mode(), err)
	}
	if err := s.Put(ctx, "keep", []byte("kept across restarts"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "old", []byte("x"), time.Second); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "keep"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v", fi.Mode(), err)
	}
	s.Close()

	// A new process sees the entries; the sweeper deletes the expired one and strays.
	clk.Advance(time.Minute)
	if err := os.WriteFile(filepath.Join(dir, ".tmp-stale"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	stale := clk.Now().Add(-time.Hour)
	_ = os.Chtimes(filepath.Join(dir, ".tmp-stale"), stale, stale)
	_ = os.WriteFile(filepath.Join(dir, "not.ours"), []byte("x"), 0o600)
	s2, err := relay.NewDirStore(dir, relay.DirOptions{Now: clk.Now, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	n, err := s2.Sweep()
	if err != nil || n != 2 {
		t.Fatalf("swept %d, %v; want 2 (old, .tmp-stale)", n, err)
	}
	if got, err := s2.GetAndDelete(ctx, "keep"); err != nil || string(got) != "kept across restarts" {
		t.Fatalf("after restart: %q, %v", got, err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 1 || left[0].Name() != "not.ours" {
		t.Fatalf("left in the directory: %v", left)
	}
}

func TestDirStoreRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	s, err := relay.NewDirStore(dir, relay.DirOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	target := filepath.Join(t.TempDir(), "secret")
	_ = os.WriteFile(target, []byte("secret"), 0o600)
	if err := os.Symlink(target, filepath.Join(dir, "link")); err != nil {
		t.Skip(err)
	}
	if _, err := s.GetAndDelete(context.Background(), "link"); !errors.Is(err, relay.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "secret" {
		t.Fatal("symlink target touched")
	}
}

func TestOpenStore(t *testing.T) {
	ctx := context.Background()
	for _, spec := range []string{"", "memory", "dir:" + t.TempDir()} {
		s, err := relay.OpenStore(ctx, spec)
		if err != nil {
			t.Fatalf("%q: %v", spec, err)
		}
		if err := s.Put(ctx, "x", []byte("y"), time.Minute); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	for _, spec := range []string{"mem", "file:/tmp", "dir:"} {
		if _, err := relay.OpenStore(ctx, spec); err == nil {
			t.Errorf("%q accepted", spec)
		}
	}
	if _, err := relay.OpenStore(ctx, "postgres://x"); !errors.Is(err, relay.ErrStoreSpec) {
		t.Errorf("err = %v, want ErrStoreSpec", err)
	}
}

// TestExpiryThroughHandlers puts through StorageService and reads through RetrieveService after
// the entry's life, with a short real expiry.
func TestExpiryThroughHandlers(t *testing.T) {
	s := relay.NewMemoryStore(relay.MemoryOptions{})
	defer s.Close()
	cfg := quietConfig()
	cfg.Expiry = 100 * time.Millisecond
	put, get := relay.NewStorageService(s, cfg), relay.NewRetrieveService(s, cfg)
	serve(t, put, call{"GET", "/s?op=put&v=1_0&id=e1&dat=x", "", ""})
	serve(t, put, call{"GET", "/s?op=put&v=1_0&id=e2&dat=y", "", ""})
	if _, _, body := serve(t, get, call{"GET", "/r?op=get&v=1_0&id=e1", "", ""}); body != "x\n" {
		t.Fatalf("fresh: %q", body)
	}
	time.Sleep(250 * time.Millisecond)
	if _, _, body := serve(t, get, call{"GET", "/r?op=get&v=1_0&id=e2", "", ""}); body != err06 {
		t.Fatalf("expired: %q", body)
	}
}

// loadDuration is 2 s per store normally and 20 s with TRIFIRMA_LOADTEST=1.
func loadDuration(t *testing.T) time.Duration {
	if testing.Short() {
		t.Skip("load test skipped in -short mode")
	}
	if os.Getenv("TRIFIRMA_LOADTEST") == "1" {
		return 20 * time.Second
	}
	return 2 * time.Second
}

func runLoad(t *testing.T, store relay.Store) relaytest.LoadResult {
	d := loadDuration(t)
	mux := http.NewServeMux()
	mux.Handle("/afirma-signature-storage/StorageService", relay.NewStorageService(store, quietConfig()))
	mux.Handle("/afirma-signature-retriever/RetrieveService", relay.NewRetrieveService(store, quietConfig()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res := relaytest.Load(t, relaytest.LoadOptions{
		PutURL:   srv.URL + "/afirma-signature-storage/StorageService",
		GetURL:   srv.URL + "/afirma-signature-retriever/RetrieveService",
		Workers:  50,
		Duration: d,
	})
	t.Logf("%s", res)
	if res.Lost+res.Corrupted+res.Duplicated+res.Errors != 0 || res.Pairs == 0 {
		t.Errorf("load run not clean: %s", res)
	}
	return res
}

func TestLoadMemory(t *testing.T) {
	s := relay.NewMemoryStore(relay.MemoryOptions{})
	defer s.Close()
	res := runLoad(t, s)
	if res.CPUPerPair > 0 {
		// Load generator and server share the process: this is what GOMAXPROCS idle cores give.
		t.Logf("projected with %d idle cores: %.0f pairs/s (target 20,000)",
			runtime.GOMAXPROCS(0), float64(runtime.GOMAXPROCS(0))*float64(time.Second)/float64(res.CPUPerPair))
	}
}

func TestLoadDir(t *testing.T) {
	s, err := relay.NewDirStore(t.TempDir(), relay.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runLoad(t, s)
}

func TestIDValidation(t *testing.T) {
	for id, want := range map[string]bool{
		"llUQSzruWssVQxIeFNtV": true, "000987508929": true, "a-b_c": true,
		"": false, "a.b": false, "a/b": false, `a\b`: false, "ñ": false, "a b": false,
		strings.Repeat("a", relay.MaxIDLength): true, strings.Repeat("a", relay.MaxIDLength+1): false,
	} {
		if got := relay.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v", id, got)
		}
	}
}
