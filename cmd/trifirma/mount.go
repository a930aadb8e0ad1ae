package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/trifirma/trifirma/batch"
	"github.com/trifirma/trifirma/batch/fetch"
	"github.com/trifirma/trifirma/batch/saver"
	"github.com/trifirma/trifirma/relay"
	"github.com/trifirma/trifirma/server"
)

// Paths at which the reference deploys the intermediate server.
const (
	storagePath  = "/afirma-signature-storage/StorageService"
	retrievePath = "/afirma-signature-retriever/RetrieveService"
)

func init() {
	mounters = append(mounters, mountBatch, mountRelay)
}

// mountBatch adds the JSON batch services (and the XML ones when -xml-batch is set).
func mountBatch(_ context.Context, mux *http.ServeMux, c serveConfig, sig *server.Server, logger *slog.Logger) (func(), error) {
	reg := batch.NewSaverRegistry()
	if c.batchOut != "" {
		fs, err := saver.File(saver.FileConfig{Root: c.batchOut, BaseNameOnly: true})
		if err != nil {
			return nil, fmt.Errorf("-batch-out: %w", err)
		}
		reg.Register(batch.ClassSaverFile, fs)
	}
	var fetcher *fetch.Fetcher
	if len(c.fetchPrefixes) > 0 {
		allow := make([]netip.Prefix, 0, len(c.fetchAllow))
		for _, a := range c.fetchAllow {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("-batch-fetch-allow %q: %w", a, err)
			}
			allow = append(allow, p)
		}
		f, err := fetch.New(fetch.Config{Prefixes: c.fetchPrefixes, Allow: allow})
		if err != nil {
			return nil, fmt.Errorf("-batch-fetch-prefix: %w", err)
		}
		fetcher = f
	}
	if len(c.postPrefixes) > 0 {
		pf, err := fetch.New(fetch.Config{Prefixes: c.postPrefixes})
		if err != nil {
			return nil, fmt.Errorf("-batch-post-prefix: %w", err)
		}
		reg.Register(batch.ClassSaverHTTPPost, saver.HTTPPost(pf))
	}
	s, err := batch.New(batch.Config{
		Presigner: sig.Presigner(), Postsigner: sig.Postsigner(), Documents: sig.Documents(),
		Fetcher: fetcher, Savers: reg, XMLEnabled: c.xmlBatch, MaxBodySize: c.maxBody,
		AllowOrigin: c.allowOrigin, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	s.Mount(mux)
	return func() {}, nil
}

// mountRelay adds the intermediate server with the store named by -relay-store.
func mountRelay(ctx context.Context, mux *http.ServeMux, c serveConfig, _ *server.Server, logger *slog.Logger) (func(), error) {
	store, err := relay.OpenStore(ctx, c.relayStore)
	if err != nil {
		return nil, fmt.Errorf("-relay-store: %w", err)
	}
	cfg := relay.Config{Expiry: c.relayExpiry, MaxSize: c.relayMaxSize, Logger: logger}
	mux.Handle(storagePath, relay.NewStorageService(store, cfg))
	mux.Handle(retrievePath, relay.NewRetrieveService(store, cfg))
	logger.Info("intermediate server mounted", "store", c.relayStore, "storage", storagePath, "retrieve", retrievePath)
	return func() { _ = store.Close() }, nil
}
