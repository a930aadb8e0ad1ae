package batch_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/batch"
	"github.com/trifirma/trifirma/batch/fetch"
	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/docmanager"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/formats/none"
	"github.com/trifirma/trifirma/formats/pades"
	"github.com/trifirma/trifirma/formats/xades"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
	"github.com/trifirma/trifirma/postsign"
	"github.com/trifirma/trifirma/presign"
)

// engines is what the batch tests sign with: CAdES for real signatures, NONE for mechanics.
func engines() trifirma.Registry {
	return trifirma.Registry{
		trifirma.FormatCAdES: cades.New(cades.Config{}),
		trifirma.FormatNONE:  none.New(),
		trifirma.FormatXAdES: xades.New(xades.Config{}),
		trifirma.FormatPAdES: pades.New(pades.Config{}),
	}
}

// memStore is a document manager whose references are Base64 documents (like Inline) and
// which keeps every stored signature by entry id (SignatureId), with rollback.
type memStore struct {
	docmanager.Inline
	mu     sync.Mutex
	stored map[string][]byte
	fmts   map[string]string
	// failOn, when set, makes StoreDocument fail for that entry id.
	failOn string
}

func newMemStore() *memStore {
	return &memStore{stored: map[string][]byte{}, fmts: map[string]string{}}
}

func (m *memStore) StoreDocument(_ context.Context, _ string, _ []*x509.Certificate, sig []byte, p trifirma.Params) (string, error) {
	id := p["SignatureId"]
	if id == m.failOn {
		return "", errors.New("memStore: refusing to store " + id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stored[id] = append([]byte(nil), sig...)
	m.fmts[id] = p["format"]
	return "stored:" + id, nil
}

func (m *memStore) Rollback(_ context.Context, _ string, _ []*x509.Certificate, p trifirma.Params) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.stored, p["SignatureId"])
	return nil
}

func (m *memStore) get(id string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stored[id]
}

func (m *memStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.stored)
}

// env is a batch server on 127.0.0.1.
type env struct {
	t      *testing.T
	pki    *testpki.PKI
	signer *batch.Signer
	ts     *httptest.Server
	store  *memStore
}

func newEnv(t *testing.T, mut func(*batch.Config)) *env {
	t.Helper()
	pki := testpki.Get(t)
	sealer := trifirma.GenerateSealer()
	reg := engines()
	e := &env{t: t, pki: pki, store: newMemStore()}
	cfg := batch.Config{
		Presigner:  &presign.Presigner{Engines: reg, Sealer: sealer},
		Postsigner: &postsign.Postsigner{Engines: reg, Sealer: sealer},
		Documents:  e.store,
		XMLEnabled: true,
		Logger:     slog.New(slog.DiscardHandler),
	}
	if mut != nil {
		mut(&cfg)
	}
	s, err := batch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.signer = s
	mux := http.NewServeMux()
	s.Mount(mux)
	e.ts = httptest.NewServer(mux)
	t.Cleanup(e.ts.Close)
	return e
}

func certsParam(chain []*x509.Certificate) string {
	parts := make([]string, len(chain))
	for i, c := range chain {
		parts[i] = b64.EncodeURL(c.Raw)
	}
	return strings.Join(parts, ";")
}

// post sends an unencoded k=v body, as the Java clients do.
func (e *env) post(path string, kv ...string) (int, string) {
	e.t.Helper()
	var sb strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(kv[i] + "=" + kv[i+1])
	}
	resp, err := e.ts.Client().Post(e.ts.URL+path, "application/x-www-form-urlencoded", strings.NewReader(sb.String()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
		e.t.Errorf("%s: Access-Control-Allow-Origin = %q", path, got)
	}
	return resp.StatusCode, string(body)
}

type wireResult struct {
	ID          string `json:"id"`
	Result      string `json:"result"`
	Description string `json:"description"`
}

// signJSON plays AutoFirma's JSON batch client: presign, rewrite the batch for failed
// entries, sign every PRE with the identity's key, postsign. It returns the final results
// (built by the client itself when nothing was presigned, as AutoFirma does).
func (e *env) signJSON(b *batch.Batch, id *testpki.Identity, tamper func(td *trifirma.TriphaseData)) []wireResult {
	e.t.Helper()
	raw, err := b.MarshalJSON()
	if err != nil {
		e.t.Fatal(err)
	}
	certs := certsParam(id.Chain)
	code, body := e.post(batch.PathJSONPresign, "json", b64.EncodeURL(raw), "certs", certs)
	if code != http.StatusOK {
		e.t.Fatalf("presign: HTTP %d %s (certs %d chars, chain %d)", code, body, len(certs), len(id.Chain))
	}
	var pr struct {
		TD      json.RawMessage `json:"td"`
		Results []wireResult    `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &pr); err != nil {
		e.t.Fatalf("presign reply %q: %v", body, err)
	}
	failed := map[string]wireResult{}
	for _, r := range pr.Results {
		failed[r.ID] = r
	}
	if len(pr.TD) == 0 {
		var out []wireResult
		for _, it := range b.Items {
			if r, ok := failed[it.ID]; ok {
				out = append(out, r)
			}
		}
		return out
	}
	var tdHead struct {
		Format string `json:"format"`
	}
	_ = json.Unmarshal(pr.TD, &tdHead)
	td, err := batch.ParseJSONSession(pr.TD)
	if err != nil {
		e.t.Fatalf("presign td: %v", err)
	}
	// Rewrite the batch as the client does for entries that failed.
	nb := *b
	nb.Items = nil
	for _, it := range b.Items {
		if r, ok := failed[it.ID]; ok {
			code, err := batch.ParseCode(r.Result)
			if err != nil {
				e.t.Fatal(err)
			}
			nb.Items = append(nb.Items, &batch.Item{ID: it.ID, Result: code, Description: r.Description})
			continue
		}
		nb.Items = append(nb.Items, it)
	}
	if err := client.SignSession(td, id.Key, b.Algorithm); err != nil {
		e.t.Fatal(err)
	}
	if tamper != nil {
		tamper(td)
	}
	raw, err = nb.MarshalJSON()
	if err != nil {
		e.t.Fatal(err)
	}
	tridata := batch.AppendJSONSession(nil, tdHead.Format, td)
	code, body = e.post(batch.PathJSONPostsign, "json", b64.EncodeURL(raw), "certs", certs, "tridata", b64.EncodeURL(tridata))
	if code != http.StatusOK {
		e.t.Fatalf("postsign: HTTP %d %s", code, body)
	}
	var res struct {
		Signs []wireResult `json:"signs"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		e.t.Fatalf("postsign reply %q: %v", body, err)
	}
	return res.Signs
}

// xmlResults parses a <signs> reply.
func xmlResults(t *testing.T, body string) []wireResult {
	t.Helper()
	var doc struct {
		Results []struct {
			ID          string `xml:"id,attr"`
			Result      string `xml:"result,attr"`
			Description string `xml:"description,attr"`
		} `xml:"signresult"`
	}
	if err := xml.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("results %q: %v", body, err)
	}
	var out []wireResult
	for _, r := range doc.Results {
		out = append(out, wireResult{r.ID, r.Result, r.Description})
	}
	return out
}

// signXML plays the legacy XML batch client. It returns the HTTP status and the results.
func (e *env) signXML(b *batch.Batch, id *testpki.Identity, tamper func(td *trifirma.TriphaseData)) (int, string, []wireResult) {
	e.t.Helper()
	raw, err := b.AppendXML(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	certs := certsParam(id.Chain)
	code, body := e.post(batch.PathXMLPresign, "xml", b64.EncodeURL(raw), "certs", certs)
	if code != http.StatusOK {
		return code, body, nil
	}
	td, err := trifirma.ParseTriphaseData([]byte(body))
	if err != nil {
		e.t.Fatalf("XML presign reply: %v", err)
	}
	if len(td.Signs) > 0 {
		if err := client.SignSession(td, id.Key, b.Algorithm); err != nil {
			e.t.Fatal(err)
		}
	}
	if tamper != nil {
		tamper(td)
	}
	code, body = e.post(batch.PathXMLPostsign, "xml", b64.EncodeURL(raw), "certs", certs, "tridata", b64.EncodeURL(td.Marshal()))
	if code != http.StatusOK {
		return code, body, nil
	}
	return code, body, xmlResults(e.t, body)
}

func checkResults(t *testing.T, got []wireResult, want map[string]batch.Code) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for _, r := range got {
		w, ok := want[r.ID]
		if !ok {
			t.Errorf("unexpected result %+v", r)
			continue
		}
		if string(w) != r.Result {
			t.Errorf("entry %s: %s (%s), want %s", r.ID, r.Result, r.Description, w)
		}
	}
}

// validateCAdES checks a CAdES signature with the independent validators.
func validateCAdES(t *testing.T, pki *testpki.PKI, sig, detached []byte, signers int) {
	t.Helper()
	validate.CAdES(t, sig, validate.Options{Detached: detached, Roots: []*x509.Certificate{pki.Root}, Signers: signers})
}

// validateRaw checks a NONE (raw PKCS#1 / ECDSA) signature with openssl.
func validateRaw(t *testing.T, cert *x509.Certificate, digest string, data, sig []byte) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	pub, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out, err := exec.Command("openssl", "dgst", "-"+digest, "-verify", write("pub.der", pub), "-keyform", "DER",
		"-signature", write("sig", sig), write("data", data)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl dgst -verify: %v: %s", err, out)
	}
}

// guardedFetcher returns a Fetcher whose resolver maps names to 127.0.0.1 and whose dialer
// fails the test for any other address: no test ever puts a packet on another address.
func guardedFetcher(t *testing.T, prefixes []string, names map[string]string) *fetch.Fetcher {
	return guardedFetcherAllow(t, prefixes, names, []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})
}

// guardedFetcherAllow is guardedFetcher with an explicit list of allowed ranges.
func guardedFetcherAllow(t *testing.T, prefixes []string, names map[string]string, allow []netip.Prefix) *fetch.Fetcher {
	t.Helper()
	f, err := fetch.New(fetch.Config{
		Prefixes: prefixes,
		Allow:    allow,
		Resolver: func(_ context.Context, host string) ([]netip.Addr, error) {
			a, ok := names[strings.ToLower(host)]
			if !ok {
				return nil, fmt.Errorf("test resolver: no such host %q", host)
			}
			return []netip.Addr{netip.MustParseAddr(a)}, nil
		},
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			if host, _, err := net.SplitHostPort(address); err != nil || host != "127.0.0.1" {
				t.Errorf("the fetcher tried to dial %q: only 127.0.0.1 may ever be contacted", address)
				return nil, errors.New("test dialer: refused")
			}
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// docServer serves docs on 127.0.0.1 and returns its URL and a Fetcher allowed to read it.
func docServer(t *testing.T, docs map[string][]byte) (string, *fetch.Fetcher) {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(d)
	}))
	t.Cleanup(ts.Close)
	return ts.URL, guardedFetcher(t, []string{ts.URL + "/expedientes/"}, nil)
}

// validateCAdESLegacy checks a signature that also holds the reference's old signatures
// (SHA-1, expired certificates, foreign roots): every signature value is checked, not trust.
func validateCAdESLegacy(t *testing.T, sig []byte) {
	t.Helper()
	validate.CAdES(t, sig, validate.Options{AllowSHA1: true, AllowExpired: true})
}

// formReceiver is a loopback endpoint for the HTTP POST saver: it accepts
// firma=<URL-safe Base64> form bodies and keeps each decoded signature under the request's
// "id" query value (get returns it).
func formReceiver(t *testing.T) (ts *httptest.Server, get func(id string) []byte) {
	t.Helper()
	var mu sync.Mutex
	received := map[string][]byte{}
	ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		k, v, _ := strings.Cut(string(body), "=")
		sig, err := b64.DecodeString(v)
		if k != "firma" || err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if strings.ContainsAny(v, "+/") {
			http.Error(w, "not URL-safe", http.StatusBadRequest)
			return
		}
		mu.Lock()
		received[r.URL.Query().Get("id")] = sig
		mu.Unlock()
	}))
	t.Cleanup(ts.Close)
	return ts, func(id string) []byte {
		mu.Lock()
		defer mu.Unlock()
		return received[id]
	}
}
