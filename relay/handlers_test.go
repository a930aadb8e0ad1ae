package relay_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trifirma/trifirma/relay"
)

const (
	err00 = "ERR-00:=No se ha indicado código de operación\n"
	err01 = "ERR-01:=Código de operación no soportado\n"
	err05 = "ERR-05:=No se ha proporcionado un identificador para los datos\n"
	err06 = "ERR-06:=El identificador para los datos es inválido\n"
	err07 = "ERR-07:=Los datos solicitados o enviados son inválidos\n"
	err18 = "ERR-18:=No se ha podido enviar la firma generada a la Web de origen\n"
	err20 = "ERR-20:=No se ha indicado la versión de la sintaxis de la operación\n"
)

func quietConfig() relay.Config {
	return relay.Config{Logger: slog.New(slog.DiscardHandler)}
}

type call struct {
	method, target, body, ctype string
}

func serve(t *testing.T, h http.Handler, c call) (int, http.Header, string) {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req := httptest.NewRequest(c.method, c.target, body)
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.String()
}

// TestStorageWire checks StorageService answers and stored contents against the reference's
// behaviour, request by request.
func TestStorageWire(t *testing.T) {
	cfg := quietConfig()
	cfg.MaxSize = 32
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name   string
		c      call
		want   string
		id     string // entry expected after the call
		stored string
	}{
		{"check GET", call{"GET", "/s?op=check", "", ""}, "OK\n", "", ""},
		{"check POST is not check", call{"POST", "/s", "op=check", form}, err20, "", ""},
		{"check POST with v", call{"POST", "/s", "op=check&v=1_0", form}, err01, "", ""},
		{"no op", call{"GET", "/s?v=1_0&id=abc", "", ""}, err00, "", ""},
		{"no v", call{"GET", "/s?op=put&id=abc", "", ""}, err20, "", ""},
		{"bad op", call{"GET", "/s?op=get&v=1_0&id=abc", "", ""}, err01, "", ""},
		{"no id", call{"GET", "/s?op=put&v=1_0&dat=eA", "", ""}, err05, "", ""},
		{"dot id", call{"GET", "/s?op=put&v=1_0&id=a.b&dat=eA", "", ""}, err06, "", ""},
		{"slash id", call{"POST", "/s", "op=put&v=1_0&id=a/b&dat=eA", form}, err06, "", ""},
		{"backslash id", call{"POST", "/s", `op=put&v=1_0&id=a\b&dat=eA`, form}, err06, "", ""},
		{"empty id", call{"POST", "/s", "op=put&v=1_0&id=&dat=eA", form}, err06, "", ""},
		{"long id", call{"POST", "/s", "op=put&v=1_0&id=" + strings.Repeat("a", relay.MaxIDLength+1) + "&dat=x", form}, err06, "", ""},
		{"GET put", call{"GET", "/s?op=put&v=1_0&id=g1&dat=ZnVsYW5pdG9AYXRvcy5uZXQ%3D", "", ""}, "OK", "g1", "ZnVsYW5pdG9AYXRvcy5uZXQ="},
		{"GET put decodes dat twice", call{"GET", "/s?op=PUT&v=1_0&id=g2&dat=a%252Bb%2B", "", ""}, "OK", "g2", "a+b "},
		{"GET malformed second decoding", call{"GET", "/s?op=put&v=1_0&id=g3&dat=a%25zz", "", ""}, err07, "", ""},
		{"POST put", call{"POST", "/s", "op=put&v=1_0&id=p1&dat=6.KSCk4xRsiiul5vrlTW0tQw==", form}, "OK", "p1", "6.KSCk4xRsiiul5vrlTW0tQw=="},
		{"POST decodes dat once", call{"POST", "/s", "op=put&v=1_0&id=p2&dat=a%2Bb+c", form}, "OK", "p2", "a+b c"},
		{"POST keys and id not decoded", call{"POST", "/s", "o%70=put&op=put&v=1_0&id=p%33&dat=x", form}, err06, "", ""},
		{"POST last occurrence wins", call{"POST", "/s", "op=get&op=put&v=1_0&id=zz&id=p4&dat=one&dat=two&it=3&junk", ""}, "OK", "p4", "two"},
		{"PUT method reads body too", call{"PUT", "/s", "op=put&v=1_0&id=p5&dat=x", ""}, "OK", "p5", "x"},
		{"HEAD has no body", call{"HEAD", "/s?op=put&v=1_0&id=h1&dat=x", "", ""}, err00, "", ""},
		{"missing dat stores ERR-02", call{"POST", "/s", "op=put&v=1_0&id=q1", form}, "OK", "q1", "ERR-02:=No se han proporcionado los datos de la operación"},
		{"empty dat stores ERR-02", call{"GET", "/s?op=put&v=1_0&id=q2&dat=", "", ""}, "OK", "q2", "ERR-02:=No se han proporcionado los datos de la operación"},
		{"oversized stores ERR-07", call{"POST", "/s", "op=put&v=1_0&id=q3&dat=" + strings.Repeat("x", 33), form}, "OK", "q3", "ERR-07:=Los datos solicitados o enviados son inválidos"},
		{"oversized GET stores ERR-07", call{"GET", "/s?op=put&v=1_0&id=q4&dat=" + strings.Repeat("y", 33), "", ""}, "OK", "q4", "ERR-07:=Los datos solicitados o enviados son inválidos"},
		{"cap counts decoded bytes", call{"POST", "/s", "op=put&v=1_0&id=q5&dat=" + strings.Repeat("%41", 32), form}, "OK", "q5", strings.Repeat("A", 32)},
		{"oversized then id", call{"POST", "/s", "dat=" + strings.Repeat("z", 100) + "&op=put&v=1_0&id=q6", form}, "OK", "q6", "ERR-07:=Los datos solicitados o enviados son inválidos"},
		{"malformed escape", call{"POST", "/s", "op=put&v=1_0&id=q7&dat=ab%4", form}, err07, "", ""},
		{"malformed escape hex", call{"POST", "/s", "op=put&v=1_0&id=q8&dat=ab%zz", form}, err07, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := relay.NewMemoryStore(relay.MemoryOptions{SweepInterval: -1})
			defer store.Close()
			code, hdr, body := serve(t, relay.NewStorageService(store, cfg), tt.c)
			if code != 200 {
				t.Fatalf("status %d", code)
			}
			if tt.c.method != "HEAD" && body != tt.want {
				t.Fatalf("body %q, want %q", body, tt.want)
			}
			if got := hdr.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("ACAO %q", got)
			}
			if got := hdr.Get("Content-Type"); got != "text/plain;charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			if tt.id != "" {
				got, err := store.GetAndDelete(context.Background(), tt.id)
				if err != nil || string(got) != tt.stored {
					t.Fatalf("stored %q, %v; want %q", got, err, tt.stored)
				}
			}
			if n := store.Len(); n != 0 {
				t.Errorf("%d unexpected entries left", n)
			}
		})
	}
}

func TestRetrieveWire(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name string
		c    call
		want string
		left bool // entry "abc" still there afterwards
	}{
		{"no op", call{"GET", "/r?v=1_0&id=abc", "", ""}, err00, true},
		{"check GET", call{"GET", "/r?op=check", "", ""}, "OK\n", true},
		{"check POST before v", call{"POST", "/r", "op=check", form}, "OK\n", true},
		{"check is case-sensitive", call{"GET", "/r?op=CHECK", "", ""}, err20, true},
		{"no v", call{"GET", "/r?op=get&id=abc", "", ""}, err20, true},
		{"bad op", call{"GET", "/r?op=put&v=1_0&id=abc", "", ""}, err01, true},
		{"no id", call{"GET", "/r?op=get&v=1_0", "", ""}, err05, true},
		{"dot id", call{"GET", "/r?op=get&v=1_0&id=..%2Fabc", "", ""}, err06, true},
		{"not found", call{"GET", "/r?op=get&v=1_0&id=abd", "", ""}, err06, true},
		{"GET found", call{"GET", "/r?op=GET&v=1_0&id=abc", "", ""}, "payload|x\n", false},
		{"POST form found", call{"POST", "/r", "op=get&v=1_0&id=abc&it=0", form}, "payload|x\n", false},
		{"POST decoded id", call{"POST", "/r", "op=get&v=1_0&id=%61bc", form + "; charset=UTF-8"}, "payload|x\n", false},
		{"query wins over body", call{"POST", "/r?id=abd", "op=get&v=1_0&id=abc", form}, err06, true},
		{"POST without form type ignores body", call{"POST", "/r", "op=get&v=1_0&id=abc", "text/plain"}, err00, true},
		{"DELETE reads the query", call{"DELETE", "/r?op=get&v=1_0&id=abc", "", ""}, "payload|x\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := relay.NewMemoryStore(relay.MemoryOptions{SweepInterval: -1})
			defer store.Close()
			if err := store.Put(context.Background(), "abc", []byte("payload|x"), time.Minute); err != nil {
				t.Fatal(err)
			}
			code, hdr, body := serve(t, relay.NewRetrieveService(store, quietConfig()), tt.c)
			if code != 200 || body != tt.want {
				t.Fatalf("got %d %q, want 200 %q", code, body, tt.want)
			}
			if got := hdr.Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("ACAO %q", got)
			}
			if left := store.Len() == 1; left != tt.left {
				t.Errorf("entry left = %v, want %v", left, tt.left)
			}
		})
	}
	t.Run("HEAD does not consume", func(t *testing.T) {
		store := relay.NewMemoryStore(relay.MemoryOptions{SweepInterval: -1})
		defer store.Close()
		_ = store.Put(context.Background(), "abc", []byte("x"), time.Minute)
		code, _, _ := serve(t, relay.NewRetrieveService(store, quietConfig()), call{"HEAD", "/r?op=get&v=1_0&id=abc", "", ""})
		if code != http.StatusMethodNotAllowed || store.Len() != 1 {
			t.Fatalf("HEAD: status %d, entries %d", code, store.Len())
		}
	})
}

// failingStore fails every operation.
type failingStore struct{}

func (failingStore) Put(context.Context, string, []byte, time.Duration) error {
	return io.ErrUnexpectedEOF
}
func (failingStore) GetAndDelete(context.Context, string) ([]byte, error) {
	return nil, io.ErrUnexpectedEOF
}
func (failingStore) Close() error { return nil }

func TestStoreFailures(t *testing.T) {
	var logs bytes.Buffer
	cfg := relay.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	_, _, body := serve(t, relay.NewStorageService(failingStore{}, cfg), call{"GET", "/s?op=put&v=1_0&id=abc&dat=x", "", ""})
	if body != err18 {
		t.Errorf("put: %q, want ERR-18", body)
	}
	_, _, body = serve(t, relay.NewRetrieveService(failingStore{}, cfg), call{"GET", "/r?op=get&v=1_0&id=abc", "", ""})
	if body != err07 {
		t.Errorf("get: %q, want ERR-07", body)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || strings.Contains(logs.String(), `"abc"`) {
		t.Errorf("logs should report the failures with shortened ids:\n%s", logs.String())
	}
}

func TestOversizeIsLogged(t *testing.T) {
	var logs bytes.Buffer
	cfg := relay.Config{MaxSize: 4, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	store := relay.NewMemoryStore(relay.MemoryOptions{SweepInterval: -1})
	defer store.Close()
	_, _, body := serve(t, relay.NewStorageService(store, cfg), call{"POST", "/s", "op=put&v=1_0&id=abc&dat=12345", ""})
	if body != "OK" || !strings.Contains(logs.String(), "max_bytes=4") {
		t.Fatalf("body %q, logs:\n%s", body, logs.String())
	}
}

func TestWireErrorsGolden(t *testing.T) {
	var b strings.Builder
	for _, code := range []string{relay.CodeMissingOperation, relay.CodeUnsupportedOp, relay.CodeMissingData,
		relay.CodeMissingID, relay.CodeInvalidID, relay.CodeInvalidData, relay.CodeStoreFailed,
		relay.CodeMissingSyntaxVersn, "ERR-99"} {
		b.WriteString(relay.WireError(code))
		b.WriteByte('\n')
	}
	golden(t, "testdata/wire-errors.golden", b.String())
	code, msg, ok := relay.ParseWireError("err-11:=Operación cancelada\r\n")
	if !ok || code != "ERR-11" || msg != "Operación cancelada" {
		t.Errorf("ParseWireError = %q %q %v", code, msg, ok)
	}
	if _, _, ok := relay.ParseWireError("OK"); ok {
		t.Error("ParseWireError accepted OK")
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s mismatch:\n got: %q\nwant: %q", path, got, want)
	}
}

// TestLargeStreamedUpload checks that a chunked upload far above the cap is refused with bounded
// work and the ERR-07 text is stored.
func TestLargeStreamedUpload(t *testing.T) {
	store := relay.NewMemoryStore(relay.MemoryOptions{SweepInterval: -1})
	defer store.Close()
	cfg := quietConfig()
	cfg.MaxSize = 1 << 10
	srv := httptest.NewServer(relay.NewStorageService(store, cfg))
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte("op=put&v=1_0&id=big&dat="))
		chunk := bytes.Repeat([]byte("A"), 64<<10)
		for range 256 { // 16 MiB offered
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	resp, err := http.Post(srv.URL, "application/x-www-form-urlencoded", pr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	pr.Close()
	if string(b) != "OK" {
		t.Fatalf("answer %q", b)
	}
	got, err := store.GetAndDelete(context.Background(), "big")
	if err != nil || string(got)+"\n" != err07 {
		t.Fatalf("stored %q, %v", got, err)
	}
}
