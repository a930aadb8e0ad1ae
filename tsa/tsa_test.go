package tsa_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/tsa"
	"github.com/trifirma/trifirma/tsa/tsatest"
)

func server(t *testing.T) *tsatest.Server {
	pki := testpki.Get(t)
	key, chain := tsatest.Identity(t, pki.Root, pki.RootKey)
	return tsatest.New(t, key, chain)
}

func TestTimestamp(t *testing.T) {
	srv := server(t)
	pki := testpki.Get(t)
	roots := x509.NewCertPool()
	roots.AddCert(pki.Root)
	for _, h := range []crypto.Hash{0, crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		c := &tsa.Client{URL: srv.URL, Hash: h, Roots: roots}
		tok, err := c.Timestamp(context.Background(), []byte("signature value"))
		if err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		want := h
		if want == 0 {
			want = crypto.SHA512
		}
		if tok.Hash != want || tok.Certificate == nil || tok.Nonce == nil || time.Since(tok.GenTime) > time.Minute {
			t.Fatalf("%v: token %+v", h, tok)
		}
	}
}

func TestTimestampOpenSSLVerifies(t *testing.T) {
	srv := server(t)
	pki := testpki.Get(t)
	data := []byte("data to stamp")
	tok, err := (&tsa.Client{URL: srv.URL, Hash: crypto.SHA256}).Timestamp(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	must := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	opensslTSVerify(t, must("tok.der", tok.DER), must("data", data), pki.WriteRoot(t, dir))
}

func TestPolicyAndAuth(t *testing.T) {
	srv := server(t)
	srv.User, srv.Password = "usr", "pwd"
	p := trifirma.Params{tsa.ParamURL: srv.URL, tsa.ParamUser: "usr", tsa.ParamPassword: "pwd",
		tsa.ParamPolicy: "1.3.6.1.4.1.99999.2.7", tsa.ParamHashAlgorithm: "SHA-384"}
	c, err := tsa.FromParams(p)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Timestamp(context.Background(), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Policy.String() != "1.3.6.1.4.1.99999.2.7" || tok.Hash != crypto.SHA384 {
		t.Fatalf("policy %v hash %v", tok.Policy, tok.Hash)
	}
	c.Password = "wrong"
	if _, err := c.Timestamp(context.Background(), []byte("x")); !errors.Is(err, tsa.ErrTimestamp) {
		t.Fatalf("wrong password: %v", err)
	}
	if c, err := tsa.FromParams(trifirma.Params{}); c != nil || err != nil {
		t.Fatal("no tsaURL must give no client")
	}
	for _, bad := range []trifirma.Params{
		{tsa.ParamURL: srv.URL, tsa.ParamPolicy: "not-an-oid"},
		{tsa.ParamURL: srv.URL, tsa.ParamHashAlgorithm: "MD5"},
	} {
		if _, err := tsa.FromParams(bad); !errors.Is(err, trifirma.ErrInvalidParams) {
			t.Fatalf("%v: %v", bad, err)
		}
	}
}

func TestFaults(t *testing.T) {
	srv := server(t)
	for name, f := range map[string]tsatest.Fault{
		"wrong nonce": tsatest.WrongNonce, "wrong digest": tsatest.WrongDigest, "rejection": tsatest.Rejection,
		"bad signature": tsatest.BadSignature, "garbage": tsatest.Garbage, "huge": tsatest.Huge,
		"slow": tsatest.Slow, "http error": tsatest.HTTPError,
	} {
		t.Run(name, func(t *testing.T) {
			srv.Fault.Store(int32(f))
			defer srv.Fault.Store(0)
			c := &tsa.Client{URL: srv.URL, Timeout: time.Second}
			tok, err := c.Timestamp(context.Background(), []byte("x"))
			if !errors.Is(err, tsa.ErrTimestamp) || tok != nil {
				t.Fatalf("err = %v", err)
			}
		})
	}
	// A canceled context stops the exchange.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&tsa.Client{URL: srv.URL}).Timestamp(ctx, []byte("x")); err == nil {
		t.Fatal("canceled context: no error")
	}
}

func TestRequestDER(t *testing.T) {
	d := sha256.Sum256([]byte("x"))
	req, err := tsa.Request(crypto.SHA256, d[:], nil, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	// SEQUENCE { INTEGER 1, SEQUENCE { SEQUENCE { OID sha256 }, OCTET STRING }, BOOLEAN TRUE }
	if req[0] != 0x30 || req[len(req)-3] != 0x01 || req[len(req)-1] != 0xff {
		t.Fatalf("request % x", req)
	}
	if _, err := tsa.Request(crypto.SHA256, d[:5], nil, nil, true); err == nil {
		t.Fatal("short digest accepted")
	}
}

var updateSeeds = flag.Bool("update", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// TestWriteFuzzSeeds records real responses of the test TSA as FuzzParseResponse seeds.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update to rewrite testdata/fuzz")
	}
	srv := server(t)
	var bodies [][]byte
	for _, f := range []tsatest.Fault{tsatest.None, tsatest.Rejection, tsatest.WrongNonce} {
		srv.Fault.Store(int32(f))
		d := sha256.Sum256([]byte("seed"))
		req, err := tsa.Request(crypto.SHA256, d[:], big.NewInt(7), nil, true)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(srv.URL, "application/timestamp-query", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, b)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseResponse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, b := range bodies {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
