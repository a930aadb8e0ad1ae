package relay_test

import (
	"crypto/sha256"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/trifirma/trifirma/relay"
)

// payload1K is a 1 KiB URL-safe payload, the size of a small ciphered result.
var payload1K = strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_", 16)

// discardWriter is a reusable ResponseWriter that keeps the last body, so that the benchmarks
// measure the handlers rather than httptest.
type discardWriter struct {
	h    http.Header
	body []byte
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(int)     {}
func (w *discardWriter) Write(b []byte) (int, error) {
	w.body = append(w.body, b...)
	return len(b), nil
}
func (w *discardWriter) reset() { w.body = w.body[:0]; clear(w.h) }

func formRequest(path, body string) *http.Request {
	return &http.Request{
		Method:        http.MethodPost,
		URL:           &url.URL{Path: path},
		Header:        http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
	}
}

// putGet runs one put and one get of payload1K under id through the handlers.
func putGet(b *testing.B, put, get http.Handler, w *discardWriter, id string) {
	w.reset()
	put.ServeHTTP(w, formRequest("/s", "op=put&v=1_0&id="+id+"&dat="+payload1K))
	if string(w.body) != "OK" {
		b.Fatalf("put answered %q", w.body)
	}
	w.reset()
	get.ServeHTTP(w, formRequest("/r", "op=get&v=1_0&id="+id))
	if len(w.body) != len(payload1K)+1 {
		b.Fatalf("get answered %d bytes", len(w.body))
	}
}

// BenchmarkPutGet measures one StorageService put and one RetrieveService get of a 1 KiB
// payload through the handlers (no network) on the memory store.
func BenchmarkPutGet(b *testing.B) {
	store := relay.NewMemoryStore(relay.MemoryOptions{})
	defer store.Close()
	put := relay.NewStorageService(store, quietConfig())
	get := relay.NewRetrieveService(store, quietConfig())
	w := &discardWriter{h: http.Header{}}
	b.SetBytes(int64(len(payload1K)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		putGet(b, put, get, w, "bench"+strconv.Itoa(i))
	}
}

// BenchmarkPutGetParallel is BenchmarkPutGet from GOMAXPROCS goroutines.
func BenchmarkPutGetParallel(b *testing.B) {
	store := relay.NewMemoryStore(relay.MemoryOptions{})
	defer store.Close()
	put := relay.NewStorageService(store, quietConfig())
	get := relay.NewRetrieveService(store, quietConfig())
	b.SetBytes(int64(len(payload1K)))
	b.ReportAllocs()
	var n atomicCounter
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			putGet(b, put, get, w, "par"+strconv.FormatInt(n.next(), 36))
		}
	})
}

// BenchmarkBaselineSHA256 hashes the same 1 KiB payload: the baseline the handler figures are
// compared with (ns/op ratio), so that runs on different machines can be compared.
func BenchmarkBaselineSHA256(b *testing.B) {
	p := []byte(payload1K)
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		sha256.Sum256(p)
	}
}

type atomicCounter struct{ v atomic.Int64 }

func (c *atomicCounter) next() int64 { return c.v.Add(1) }
