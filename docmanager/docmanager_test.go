package docmanager_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/docmanager"
	"github.com/trifirma/trifirma/internal/b64"
)

func ref(name string) string { return b64.EncodeStd([]byte(name)) }

func newFS(t *testing.T) (*docmanager.FileSystem, string, string) {
	t.Helper()
	base := t.TempDir()
	in, out := filepath.Join(base, "in"), filepath.Join(base, "out")
	for _, d := range []string{in, out} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(in, "doc.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "secret.txt"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(in, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(in, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	return &docmanager.FileSystem{InDir: in, OutDir: out, MaxSize: 1024}, in, out
}

func TestFileSystemGet(t *testing.T) {
	m, in, _ := newFS(t)
	ctx := context.Background()
	doc, err := m.GetDocument(ctx, ref("doc.txt"), nil, nil)
	if err != nil || string(doc) != "hello" {
		t.Fatalf("GetDocument = %q, %v", doc, err)
	}
	if err := os.WriteFile(filepath.Join(in, "big.bin"), make([]byte, 2048), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]error{
		"../secret.txt":          trifirma.ErrDocumentNotFound,
		"/etc/passwd":            trifirma.ErrDocumentNotFound,
		"link.txt":               trifirma.ErrDocumentNotFound,
		"sub":                    trifirma.ErrDocumentNotFound,
		"sub/../doc.txt":         trifirma.ErrDocumentNotFound,
		`..\secret.txt`:          trifirma.ErrDocumentNotFound,
		"missing.txt":            trifirma.ErrDocumentNotFound,
		"":                       trifirma.ErrDocumentNotFound,
		strings.Repeat("a", 151): trifirma.ErrDocumentNotFound,
		"big.bin":                trifirma.ErrTooLarge,
	} {
		if _, err := m.GetDocument(ctx, ref(name), nil, nil); !errors.Is(err, want) {
			t.Errorf("GetDocument(%q) err = %v, want %v", name, err, want)
		}
	}
	if _, err := m.GetDocument(ctx, "***", nil, nil); !errors.Is(err, trifirma.ErrDocumentNotFound) {
		t.Errorf("bad Base64 reference: %v", err)
	}
}

func TestFileSystemStoreAndRollback(t *testing.T) {
	m, _, out := newFS(t)
	ctx := context.Background()
	p := trifirma.Params{"format": "CAdES"}
	id, err := m.StoreDocument(ctx, ref("doc.txt"), nil, []byte("sig"), p)
	if err != nil {
		t.Fatal(err)
	}
	if id != ref("doc.csig") {
		t.Fatalf("id = %q", id)
	}
	fi, err := os.Stat(filepath.Join(out, "doc.csig"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("output: %v %v", fi, err)
	}
	if _, err := m.StoreDocument(ctx, ref("doc.txt"), nil, []byte("sig2"), p); err == nil {
		t.Fatal("overwrite allowed without Overwrite")
	}
	m.Overwrite = true
	if _, err := m.StoreDocument(ctx, ref("doc.txt"), nil, []byte("sig2"), p); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "doc.csig")); !bytes.Equal(b, []byte("sig2")) {
		t.Fatalf("content %q", b)
	}
	if err := m.Rollback(ctx, ref("doc.txt"), nil, p); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 0 {
		t.Fatalf("files left after rollback: %v", entries)
	}
	if _, err := m.StoreDocument(ctx, ref("../escape.txt"), nil, []byte("x"), p); err == nil {
		t.Fatal("traversal accepted on store")
	}
}

func TestOutputName(t *testing.T) {
	for _, tt := range []struct{ in, format, want string }{
		{"a.pdf", "CAdES", "a.csig"}, {"a.xml", "XAdES", "a.xsig"}, {"a.xml", "XAdES-ASiC-S", "a.xsig"},
		{"a.bin", "CAdES-ASiC-S", "a.asics"}, {"a.pdf", "PAdES", "a.pdf"}, {"noext", "CAdES", "noext.csig"},
	} {
		if got := docmanager.OutputName(tt.in, tt.format); got != tt.want {
			t.Errorf("OutputName(%q, %q) = %q, want %q", tt.in, tt.format, got, tt.want)
		}
	}
}

func TestInline(t *testing.T) {
	m := docmanager.Inline{MaxSize: 4}
	ctx := context.Background()
	if d, err := m.GetDocument(ctx, "SG9sYQ", nil, nil); err != nil || string(d) != "Hola" {
		t.Fatalf("%q %v", d, err)
	}
	if _, err := m.GetDocument(ctx, "SG9sYSE=", nil, nil); !errors.Is(err, trifirma.ErrTooLarge) {
		t.Fatalf("size cap: %v", err)
	}
	var buf bytes.Buffer
	if err := m.WriteNewID(ctx, &buf, "", nil, trifirma.BytesSignature{0xfb, 0xff}, nil); err != nil || buf.String() != "-_8=" {
		t.Fatalf("WriteNewID %q %v", buf.String(), err)
	}
}

// twoPieces is a streamed signature: a document and its update, written separately.
type twoPieces struct{ doc, upd []byte }

func (s twoPieces) Size() int64 { return int64(len(s.doc) + len(s.upd)) }

func (s twoPieces) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(s.doc)
	if err != nil {
		return int64(n), err
	}
	k, err := w.Write(s.upd)
	return int64(n + k), err
}

// bytesOnly is a manager without SignatureStorer.
type bytesOnly struct {
	docmanager.Inline
	got []byte
}

func (m *bytesOnly) StoreDocument(_ context.Context, _ string, _ []*x509.Certificate, sig []byte, _ trifirma.Params) (string, error) {
	m.got = sig
	return "ok", nil
}

// TestStoreSignature: the file system manager streams a signature to its file; a manager
// without the capability receives the same bytes through StoreDocument.
func TestStoreSignature(t *testing.T) {
	ctx := context.Background()
	sig := twoPieces{doc: []byte("%PDF-1.7 document "), upd: []byte("and its update")}
	m, _, out := newFS(t)
	if _, err := docmanager.StoreSignature(ctx, m, ref("doc.pdf"), nil, sig, trifirma.Params{"format": "PAdES"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "doc.pdf")); string(b) != "%PDF-1.7 document and its update" {
		t.Fatalf("file content %q", b)
	}
	bo := &bytesOnly{}
	if id, err := docmanager.StoreSignature(ctx, bo, "", nil, sig, nil); err != nil || id != "ok" || string(bo.got) != "%PDF-1.7 document and its update" {
		t.Fatalf("fallback: %q %v %q", id, err, bo.got)
	}
}
