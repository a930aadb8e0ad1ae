package server_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"testing"

	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/formats"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/server"
)

// BenchmarkRoundTrip measures full triphase round trips over loopback HTTP (presign request,
// device signature, postsign request) for a 10 KB document, with parallel clients. Report
// round trips/s as 1e9/(ns/op).
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
			tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
			defer tr.CloseIdleConnections()
			c := &client.Client{URL: ts.URL + servicePath, HTTP: &http.Client{Transport: tr}}
			req := client.Request{Format: tc.format, Algorithm: tc.algo, Document: doc, Params: tc.params}
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			b.SetParallelism(4)
			b.ResetTimer()
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
