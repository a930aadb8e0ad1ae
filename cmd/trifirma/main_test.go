package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trifirma/trifirma/internal/validate"
)

func testServer(t *testing.T) *httptest.Server {
	t.Helper()
	h, cleanup, err := newMux(context.Background(), serveConfig{docs: "inline", maxBody: 1 << 20, allowOrigin: "*", relayStore: "memory", relayExpiry: 60e9, relayMaxSize: 1 << 20},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// TestSignAgainstServe plays the device with the demo identity against the served mux.
func TestSignAgainstServe(t *testing.T) {
	ts := testServer(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "hola.txt")
	if err := os.WriteFile(in, []byte("Hola Mundo"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"sign", "-url", ts.URL + signerPrefix + "/SignatureService",
		"-in", in, "-format", "NONE", "-demo-dir", filepath.Join(dir, "demo")}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("sign exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	if fi, err := os.Stat(in + ".sig"); err != nil || fi.Size() != 256 {
		t.Fatalf("output: %v %v", fi, err)
	}
	// The demo identity is reused on the second run.
	stderr.Reset()
	if code := run(context.Background(), []string{"sign", "-url", ts.URL + signerPrefix + "/SignatureService",
		"-in", in, "-format", "NONE", "-demo-dir", filepath.Join(dir, "demo"), "-out", in + ".2"}, io.Discard, &stderr); code != 0 {
		t.Fatalf("second sign: %s", stderr.String())
	}
	if strings.Contains(stderr.String(), "created demo key") {
		t.Fatal("demo key recreated")
	}
	// A CAdES signature made the same way is checked by validators we did not write.
	if code := run(context.Background(), []string{"sign", "-url", ts.URL + signerPrefix + "/SignatureService",
		"-in", in, "-format", "CAdES", "-param", "mode=implicit", "-demo-dir", filepath.Join(dir, "demo")}, io.Discard, &stderr); code != 0 {
		t.Fatalf("CAdES sign: %s", stderr.String())
	}
	sig, err := os.ReadFile(in + ".csig")
	if err != nil {
		t.Fatal(err)
	}
	validate.CAdES(t, sig, validate.Options{Signers: 1})
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"bogus"}, {"sign"}, {"serve", "-addr"}, {"serve", "extra"}} {
		if code := run(context.Background(), args, io.Discard, io.Discard); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
	if code := run(context.Background(), []string{"serve", "-docs", "ftp://x"}, io.Discard, io.Discard); code != 1 {
		t.Errorf("bad -docs accepted")
	}
}

func TestServeShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0"}, io.Discard, io.Discard) }()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d", code)
	}
}
