package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/docmanager"
	"github.com/trifirma/trifirma/formats"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/server"
)

var errUsage = errors.New("usage")

// Paths at which the reference deploys its services.
const (
	signerPrefix = "/afirma-server-triphase-signer"
)

type serveConfig struct {
	addr            string
	sessionKeyFile  string
	docs            string
	maxBody         int64
	allowOrigin     string
	verificationKey string
	logLevel        string
	relayStore      string
	relayExpiry     time.Duration
	relayMaxSize    int64
	xmlBatch        bool
	batchOut        string
	fetchPrefixes   stringList
	fetchAllow      stringList
	postPrefixes    stringList
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c serveConfig
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address `host:port`")
	fs.StringVar(&c.sessionKeyFile, "session-key-file", "", "`file` with the session sealing key (>= 32 bytes, raw, hex or Base64); env TRIFIRMA_SESSION_KEY also works; default: a random key for this process")
	fs.StringVar(&c.docs, "docs", "inline", "document manager: `inline` (document in the request, signature in the response) or dir:IN:OUT")
	fs.Int64Var(&c.maxBody, "max-body", server.DefaultMaxBodySize, "request body cap in `bytes`")
	fs.StringVar(&c.allowOrigin, "allow-origin", "*", "Access-Control-Allow-Origin `value`")
	fs.StringVar(&c.verificationKey, "verification-key", os.Getenv("TRIFIRMA_VERIFICATION_KEY"), "reference HMAC `key` (verification.key); empty disables it")
	fs.StringVar(&c.logLevel, "log-level", "info", "log `level`: debug, info, warn, error")
	fs.StringVar(&c.relayStore, "relay-store", envOr("TRIFIRMA_RELAY_STORE", "memory"), "intermediate-server store: `memory`, dir:PATH or redis://host:port/db")
	fs.DurationVar(&c.relayExpiry, "relay-expiry", 60*time.Second, "intermediate-server entry lifetime")
	fs.Int64Var(&c.relayMaxSize, "relay-max-size", 32<<20, "intermediate-server maximum entry size in `bytes`")
	fs.BoolVar(&c.xmlBatch, "xml-batch", false, "enable the legacy XML batch services (BatchPresigner/BatchPostsigner)")
	fs.StringVar(&c.batchOut, "batch-out", "", "`directory` for the XML batch file saver (SignSaverFile); empty disables it")
	fs.Var(&c.fetchPrefixes, "batch-fetch-prefix", "URL `prefix` XML batch datasources may be downloaded from (repeatable; none = URLs refused)")
	fs.Var(&c.fetchAllow, "batch-fetch-allow", "`CIDR` the batch fetcher may reach despite being loopback/private (repeatable)")
	fs.Var(&c.postPrefixes, "batch-post-prefix", "URL `prefix` the HTTP POST saver may post to (repeatable; none = saver disabled)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	handler, cleanup, err := newMux(ctx, c, logger)
	if err != nil {
		return err
	}
	defer cleanup()

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("trifirma listening", "addr", ln.Addr().String(), "version", version,
		"signature_service", "http://"+ln.Addr().String()+signerPrefix+"/SignatureService")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// newMux builds every service with the configured defaults.
func newMux(ctx context.Context, c serveConfig, logger *slog.Logger) (http.Handler, func(), error) {
	sealer, err := loadSealer(c.sessionKeyFile, logger)
	if err != nil {
		return nil, nil, err
	}
	docs, err := parseDocs(c.docs)
	if err != nil {
		return nil, nil, err
	}
	engines := formats.Default(formats.Config{})
	sig, err := server.New(server.Config{
		Engines: engines, Sealer: sealer, Documents: docs, AllowOrigin: c.allowOrigin,
		MaxBodySize: c.maxBody, VerificationKey: c.verificationKey, Logger: logger,
	})
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(signerPrefix+"/SignatureService", sig)
	mux.Handle(signerPrefix+"/version", server.VersionHandler(version))
	cleanup := func() {}
	for _, m := range mounters {
		clean, err := m(ctx, mux, c, sig, logger)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		prev := cleanup
		cleanup = func() { clean(); prev() }
	}
	return mux, cleanup, nil
}

// mounters add optional services (batch, relay) to the mux.
var mounters []func(ctx context.Context, mux *http.ServeMux, c serveConfig, sig *server.Server, logger *slog.Logger) (func(), error)

func loadSealer(file string, logger *slog.Logger) (*trifirma.Sealer, error) {
	raw := os.Getenv("TRIFIRMA_SESSION_KEY")
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("session key: %w", err)
		}
		raw = string(b)
	}
	if raw == "" {
		logger.Warn("no session key configured: generated a random one; sessions validate on this process only (set TRIFIRMA_SESSION_KEY for a cluster)")
		return trifirma.GenerateSealer(), nil
	}
	key := decodeKey(strings.TrimSpace(raw))
	return trifirma.NewSealer(key)
}

// decodeKey accepts hex, Base64 or raw text.
func decodeKey(s string) []byte {
	if len(s)%2 == 0 {
		if b, err := decodeHex(s); err == nil && len(b) >= 32 {
			return b
		}
	}
	if b, err := b64.DecodeString(s); err == nil && len(b) >= 32 {
		return b
	}
	return []byte(s)
}

func decodeHex(s string) ([]byte, error) {
	out := make([]byte, len(s)/2)
	for i := 0; i < len(out); i++ {
		var v byte
		for _, c := range []byte{s[2*i], s[2*i+1]} {
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | (c - '0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | (c - 'a' + 10)
			case c >= 'A' && c <= 'F':
				v = v<<4 | (c - 'A' + 10)
			default:
				return nil, errors.New("not hex")
			}
		}
		out[i] = v
	}
	return out, nil
}

func parseDocs(spec string) (docmanager.Manager, error) {
	if spec == "" || spec == "inline" {
		return docmanager.Inline{}, nil
	}
	if rest, ok := strings.CutPrefix(spec, "dir:"); ok {
		in, out, ok := strings.Cut(rest, ":")
		if !ok || in == "" || out == "" {
			return nil, fmt.Errorf("-docs dir:IN:OUT needs two directories, got %q", spec)
		}
		for _, d := range []string{in, out} {
			if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
				return nil, fmt.Errorf("-docs: %s is not a directory", d)
			}
		}
		return &docmanager.FileSystem{InDir: in, OutDir: out}, nil
	}
	return nil, fmt.Errorf("-docs: unknown document manager %q (inline or dir:IN:OUT)", spec)
}
