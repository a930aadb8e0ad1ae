//go:build unix

package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/formats"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/server"
)

// BenchmarkRoundTrip measures full triphase round trips over loopback HTTP (presign request,
// device signature, postsign request) for a 10 KB document, with parallel clients (client and
// server in one process). Round trips/s is 1e9/(ns/op); cpu-µs/op is the process CPU time per
// round trip (client included), and rt/s-at-2-cores = 2e6/cpu-µs is what two otherwise idle
// cores sustain, a figure that does not depend on other load on a shared machine.
func BenchmarkRoundTrip(b *testing.B) {
	pki := testpki.MustGet()
	doc := make([]byte, 10<<10)
	_, _ = rand.Read(doc)
	engines := formats.Default(formats.Config{})
	for _, tc := range []struct {
		name, format, algo string
		params             map[string]string
		id                 *testpki.Identity
	}{
		{"NONE-ECDSA", "NONE", "SHA256withECDSA", nil, pki.EC},
		{"CAdES-explicit-ECDSA", "CAdES", "SHA256withECDSA", nil, pki.EC},
		{"CAdES-implicit-ECDSA", "CAdES", "SHA256withECDSA", map[string]string{"mode": "implicit"}, pki.EC},
		{"CAdES-explicit-RSA", "CAdES", "SHA256withRSA", nil, pki.RSA},
	} {
		f, _ := parseFormatName(tc.format)
		if _, err := engines.Engine(f); err != nil {
			continue
		}
		b.Run(tc.name, func(b *testing.B) {
			ts, _ := newServer(b, server.Config{Engines: engines, Logger: slog.New(slog.DiscardHandler)})
			// A write buffer larger than the request keeps net/http from allocating a 32 KB copy
			// buffer per request body (io.LimitReader hides bytes.Reader's WriterTo).
			tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, WriteBufferSize: 64 << 10}
			defer tr.CloseIdleConnections()
			c := &client.Client{URL: ts.URL + servicePath, HTTP: &http.Client{Transport: tr}}
			req := client.Request{Format: tc.format, Algorithm: tc.algo, Document: doc, Params: tc.params}
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			b.SetParallelism(4)
			b.ResetTimer()
			cpu0 := cpuTime()
			defer func() {
				cpu := cpuTime() - cpu0
				perOp := float64(cpu.Microseconds()) / float64(b.N)
				b.ReportMetric(perOp, "cpu-µs/op")
				b.ReportMetric(2e6/perOp, "rt/s-at-2-cores")
			}()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.Sign(context.Background(), req, tc.id.Key, tc.id.Chain); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// cpuTime is the CPU time (user + system) of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHTTPBaseline is the floor under BenchmarkRoundTrip, measured in the same run: two
// bare net/http POSTs per operation over the same kind of loopback connection, with request
// and response bodies of the sizes a CAdES explicit round trip exchanges (a 14 KB form body
// each way in, 1.5 KB and 3 KB out), a handler that only reads the body and writes the
// response, and the device's P-256 signature between the two posts. What BenchmarkRoundTrip
// costs above it is the signing service itself.
func BenchmarkHTTPBaseline(b *testing.B) {
	pki := testpki.MustGet()
	body := bytes.Repeat([]byte("a"), 14<<10)
	resp1, resp2 := bytes.Repeat([]byte("b"), 1536), bytes.Repeat([]byte("c"), 3<<10)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		if n != int64(len(body)) {
			http.Error(w, "short body", http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("op") == "pre" {
			_, _ = w.Write(resp1)
		} else {
			_, _ = w.Write(resp2)
		}
	}))
	defer ts.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64, WriteBufferSize: 64 << 10}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	do := func(op string) error {
		res, err := hc.Post(ts.URL+"?op="+op, "application/x-www-form-urlencoded", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	digest := sha256.Sum256(body)
	b.SetBytes(10 << 10)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	cpu0 := cpuTime()
	defer func() {
		perOp := float64((cpuTime() - cpu0).Microseconds()) / float64(b.N)
		b.ReportMetric(perOp, "cpu-µs/op")
		b.ReportMetric(2e6/perOp, "rt/s-at-2-cores")
	}()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := do("pre"); err != nil {
				b.Error(err)
				return
			}
			if _, err := pki.EC.Key.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				b.Error(err)
				return
			}
			if err := do("post"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
