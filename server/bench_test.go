//go:build unix

package server_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
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
