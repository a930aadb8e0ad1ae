package atomicfile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	ctx := context.Background()
	if err := Write(ctx, root, "a.sig", bytes.NewReader([]byte("one")), 0o600, false); err != nil {
		t.Fatal(err)
	}
	if err := Write(ctx, root, "a.sig", bytes.NewReader([]byte("two")), 0o600, false); err == nil {
		t.Fatal("existing file replaced without overwrite")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.sig")); string(b) != "one" {
		t.Fatalf("content %q", b)
	}
	if err := Write(ctx, root, "a.sig", bytes.NewReader([]byte("three")), 0o600, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.sig")); string(b) != "three" {
		t.Fatalf("content %q", b)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := Write(cancelled, root, "b.sig", bytes.NewReader([]byte("x")), 0o600, false); err == nil {
		t.Fatal("cancelled write succeeded")
	}
	if err := Write(ctx, root, "../escape.sig", bytes.NewReader([]byte("x")), 0o600, false); err == nil {
		t.Fatal("write outside the root succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "a.sig")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
}
