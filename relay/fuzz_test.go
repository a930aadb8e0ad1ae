package relay_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trifirma/trifirma/relay"
)

// FuzzHandlers sends arbitrary queries and bodies to both services sharing one store and checks
// that every answer is one the protocol knows, and that a put answered OK is readable once.
func FuzzHandlers(f *testing.F) {
	f.Add("POST", "", "op=put&v=1_0&id=abc&dat=6.KSCk4xRsiiul5vrlTW0tQw==")
	f.Add("GET", "op=put&v=1_0&id=abc&dat=ZnVsYW5pdG9AYXRvcy5uZXQ%3D", "")
	f.Add("GET", "op=check", "")
	f.Add("POST", "", "op=put&v=1_0&id=a.b&dat=x")
	f.Add("PUT", "x=%zz", "dat=%4&op=put&v=&id=abc")
	f.Add("POST", "", "op=put&v=1_0&id=abc")
	known := map[string]bool{"OK": true, "OK\n": true}
	for _, c := range []string{relay.CodeMissingOperation, relay.CodeUnsupportedOp, relay.CodeMissingID,
		relay.CodeInvalidID, relay.CodeInvalidData, relay.CodeStoreFailed, relay.CodeMissingSyntaxVersn} {
		known[relay.WireError(c)+"\n"] = true
	}
	f.Fuzz(func(t *testing.T, method, query, body string) {
		switch method {
		case "GET", "POST", "PUT", "DELETE", "OPTIONS":
		default:
			method = "POST"
		}
		store := relay.NewMemoryStore(relay.MemoryOptions{SweepInterval: -1})
		defer store.Close()
		cfg := quietConfig()
		cfg.MaxSize = 64
		put, get := relay.NewStorageService(store, cfg), relay.NewRetrieveService(store, cfg)
		req := httptest.NewRequest(method, "/s", strings.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		put.ServeHTTP(rec, req)
		ans := rec.Body.String()
		if rec.Code != http.StatusOK || !known[ans] {
			t.Fatalf("storage answered %d %q", rec.Code, ans)
		}
		if ans == "OK" && store.Len() != 1 {
			t.Fatalf("OK but %d entries", store.Len())
		}
		if ans != "OK" && store.Len() != 0 {
			t.Fatalf("%q but %d entries", ans, store.Len())
		}
		req = httptest.NewRequest(method, "/r", strings.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec = httptest.NewRecorder()
		get.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("retrieve status %d", rec.Code)
		}
		if a := rec.Body.String(); !known[a] && !strings.HasSuffix(a, "\n") {
			t.Fatalf("retrieve answered %q", a)
		}
	})
}
