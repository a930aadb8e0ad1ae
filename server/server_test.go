package server_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/formats/none"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/internal/testenv"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/server"
)

const servicePath = "/afirma-server-triphase-signer/SignatureService"

func newServer(t testing.TB, cfg server.Config) (*httptest.Server, *client.Client) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Engines == nil {
		cfg.Engines = trifirma.Registry{trifirma.FormatNONE: none.New()}
	}
	s, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(servicePath, s)
	mux.Handle("/afirma-server-triphase-signer/version", server.VersionHandler("2.9.1 - trifirma"))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts, &client.Client{URL: ts.URL + servicePath, HTTP: ts.Client()}
}

func post(t testing.TB, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("Access-Control-Allow-Origin = %q", got)
	}
	return resp.StatusCode, string(b)
}

// TestNoneRoundTrip signs through HTTP with format NONE and checks the raw PKCS#1 value with
// openssl.
func TestNoneRoundTrip(t *testing.T) {
	pki := testpki.Get(t)
	_, c := newServer(t, server.Config{})
	doc := []byte("raw PKCS#1 document")
	for name, id := range pki.Identities() {
		t.Run(name, func(t *testing.T) {
			sig, err := c.Sign(context.Background(), client.Request{Format: "NONE", Algorithm: "SHA256withRSA", Document: doc}, id.Key, id.Chain)
			if err != nil {
				t.Fatal(err)
			}
			opensslVerifyRaw(t, id.Cert, doc, sig)
		})
	}
}

func opensslVerifyRaw(t *testing.T, cert *x509.Certificate, data, sig []byte) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		testenv.Missing(t, "openssl not installed")
	}
	dir := t.TempDir()
	der, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"pub.pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"data":    data, "sig": sig,
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("openssl", "dgst", "-sha256", "-verify", filepath.Join(dir, "pub.pem"),
		"-signature", filepath.Join(dir, "sig"), filepath.Join(dir, "data")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl dgst -verify: %v: %s", err, out)
	}
}

// TestWireErrors checks the ERR-n answers in the reference's order of checks.
func TestWireErrors(t *testing.T) {
	pki := testpki.Get(t)
	ts, _ := newServer(t, server.Config{})
	url := ts.URL + servicePath
	cert := b64.EncodeURL(pki.RSA.Cert.Raw)
	doc := b64.EncodeURL([]byte("hello"))
	tests := []struct{ name, body, want string }{
		{"empty", "", "ERR-1: No se ha indicado la operacion a realizar"},
		{"no op", "cop=sign&format=NONE", "ERR-1:"},
		{"bad cop", "op=pre&cop=firmar&format=NONE", "ERR-13:"},
		{"no format", "op=pre&cop=sign", "ERR-4:"},
		{"bad params", "op=pre&cop=sign&format=NONE&params=%%%", ""},
		{"params not base64", "op=pre&cop=sign&format=NONE&params=***", "ERR-6:"},
		{"params bad escape", "op=pre&cop=sign&format=NONE&params=" + b64.EncodeURL([]byte(`k=\u12`)), "ERR-6:"},
		{"session not base64", "op=post&cop=sign&format=NONE&session=***&cert=" + cert, "ERR-6:"},
		{"no cert", "op=pre&cop=sign&format=NONE&doc=" + doc, "ERR-5:"},
		{"cert not x509", "op=pre&cop=sign&format=NONE&doc=" + doc + "&cert=" + doc, "ERR-7:"},
		{"doc not base64", "op=pre&cop=sign&format=NONE&cert=" + cert + "&doc=***", "ERR-14:"},
		{"md5", "op=pre&cop=sign&format=NONE&algo=MD5withRSA&cert=" + cert + "&doc=" + doc, "ERR-20:"},
		{"unknown format", "op=pre&cop=sign&format=PKCS1&cert=" + cert + "&doc=" + doc, "ERR-8:"},
		{"format without engine", "op=pre&cop=sign&format=XAdES&cert=" + cert + "&doc=" + doc, "ERR-8:"},
		{"unknown op", "op=sign&cop=sign&format=NONE&cert=" + cert + "&doc=" + doc, "ERR-11: Operacion desconocida\n"},
		{"pre without doc", "op=pre&cop=sign&format=NONE&cert=" + cert, "ERR-9:"},
		{"cosign NONE", "op=pre&cop=cosign&format=NONE&cert=" + cert + "&doc=" + doc, "ERR-9:"},
		{"post without session", "op=post&cop=sign&format=NONE&cert=" + cert + "&doc=" + doc, "ERR-12:"},
		{"post session not xml", "op=post&cop=sign&format=NONE&cert=" + cert + "&session=" + doc, "ERR-19:"},
		{"post unsealed session", "op=post&cop=sign&format=NONE&cert=" + cert + "&doc=" + doc + "&session=" +
			b64.EncodeURL([]byte(`<xml><firmas><firma Id="x"><param n="PK1">AAAA</param></firma></firmas></xml>`)), "ERR-17:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, url, tt.body)
			if tt.want == "" {
				if status != http.StatusBadRequest {
					t.Fatalf("status %d body %q, want 400", status, body)
				}
				return
			}
			if status != http.StatusOK || !strings.HasPrefix(body, tt.want) {
				t.Fatalf("got %d %q, want prefix %q", status, body, tt.want)
			}
		})
	}
}

// TestTamperedAndWrongValues: a session altered by the client, a PK1 that does not verify, and
// a different certificate in postsign are all refused, and nothing is returned.
func TestTamperedAndWrongValues(t *testing.T) {
	pki := testpki.Get(t)
	_, c := newServer(t, server.Config{})
	ctx := context.Background()
	req := client.Request{Format: "NONE", Algorithm: "SHA256withRSA", Document: []byte("doc")}
	cases := []struct {
		name   string
		mutate func(td *trifirma.TriphaseData, r *client.Request) []*x509.Certificate
		want   string
	}{
		{"wrong PK1", func(td *trifirma.TriphaseData, _ *client.Request) []*x509.Certificate {
			td.Signs[0].Set(trifirma.ParamPK1, trifirma.EncodeStd(make([]byte, 256)))
			return pki.RSA.Chain
		}, "ERR-12:"},
		{"other document", func(_ *trifirma.TriphaseData, r *client.Request) []*x509.Certificate {
			r.Document = []byte("other")
			return pki.RSA.Chain
		}, "ERR-12:"},
		{"other certificate", func(_ *trifirma.TriphaseData, _ *client.Request) []*x509.Certificate {
			return pki.RSA2.Chain
		}, "ERR-17:"},
		{"changed Id", func(td *trifirma.TriphaseData, _ *client.Request) []*x509.Certificate {
			td.Signs[0].ID = "evil"
			return pki.RSA.Chain
		}, "ERR-17:"},
		{"other params", func(_ *trifirma.TriphaseData, r *client.Request) []*x509.Certificate {
			r.Params = trifirma.Params{"mode": "implicit"}
			return pki.RSA.Chain
		}, "ERR-17:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := req
			td, err := c.Presign(ctx, r, pki.RSA.Chain)
			if err != nil {
				t.Fatal(err)
			}
			if err := client.SignSession(td, pki.RSA.Key, r.Algorithm); err != nil {
				t.Fatal(err)
			}
			chain := tc.mutate(td, &r)
			_, err = c.Postsign(ctx, r, chain, td)
			var se *client.ServerError
			if !errors.As(err, &se) || !strings.HasPrefix(se.Body, tc.want) {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestCORSAndVersion(t *testing.T) {
	ts, _ := newServer(t, server.Config{})
	req, _ := http.NewRequest(http.MethodOptions, ts.URL+servicePath, nil)
	req.Header.Set("Origin", "https://sede.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = http.Get(ts.URL + "/afirma-server-triphase-signer/version")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "2.9.1 - trifirma" {
		t.Fatalf("version %q", b)
	}
	// A GET with a query string is "no operation", as in the reference.
	resp, err = http.Get(ts.URL + servicePath + "?op=pre&cop=sign&format=NONE")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(b), "ERR-1:") {
		t.Fatalf("GET query: %q", b)
	}
}

func TestBodyLimit(t *testing.T) {
	ts, _ := newServer(t, server.Config{MaxBodySize: 1024})
	status, _ := post(t, ts.URL+servicePath, "op=pre&doc="+strings.Repeat("A", 2048))
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", status)
	}
}

func TestReferenceVerificationCode(t *testing.T) {
	pki := testpki.Get(t)
	_, c := newServer(t, server.Config{VerificationKey: "secret"})
	ctx := context.Background()
	r := client.Request{Format: "NONE", Algorithm: "SHA256", Document: []byte("doc")}
	td, err := c.Presign(ctx, r, pki.RSA.Chain)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := td.Signs[0].Get(trifirma.ParamHMAC); !ok {
		t.Fatal("no HMAC parameter")
	}
	if err := client.SignSession(td, pki.RSA.Key, r.Algorithm); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Postsign(ctx, r, pki.RSA.Chain, td); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseForm(f *testing.F) {
	f.Add("op=pre&cop=sign&format=CAdES&algo=SHA256withRSA&cert=AAAA,BBBB&doc=SG9sYQ==")
	f.Add("a=%41+b&=&&x&y=%zz")
	f.Fuzz(func(t *testing.T, body string) {
		m, err := server.ParseForm([]byte(body))
		if err != nil {
			return
		}
		for k := range m {
			if strings.Contains(k, "&") {
				t.Fatalf("key %q contains &", k)
			}
		}
	})
}

// FuzzServeHTTP feeds arbitrary bodies to the handler: it must answer, never panic.
func FuzzServeHTTP(f *testing.F) {
	pki := testpki.MustGet()
	cert := b64.EncodeURL(pki.RSA.Cert.Raw)
	f.Add("op=pre&cop=sign&format=NONE&cert=" + cert + "&doc=SG9sYQ==")
	f.Add("op=post&cop=sign&format=NONE&cert=" + cert + "&session=PHhtbD48ZmlybWFzLz48L3htbD4=")
	f.Add("op=pre&cop=countersign&format=nonetri&algo=SHA1&params=bW9kZT1pbXBsaWNpdA==&cert=" + cert)
	s, err := server.New(server.Config{Engines: trifirma.Registry{trifirma.FormatNONE: none.New()}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, servicePath, strings.NewReader(body)))
		if rec.Code == http.StatusOK && rec.Body.Len() == 0 {
			t.Fatalf("empty answer for %q", body)
		}
	})
}

func parseFormatName(s string) (trifirma.Format, error) { return trifirma.ParseFormat(s) }
