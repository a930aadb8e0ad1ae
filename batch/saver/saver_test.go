package saver_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/batch"
	"github.com/trifirma/trifirma/batch/saver"
)

func TestLocalName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"FIRMA1.xml", "FIRMA1.xml"},
		{`lote\FIRMA2.csig`, "lote/FIRMA2.csig"},
		{"a/./b.sig", "a/b.sig"},
		{" spaced name.sig ", "spaced name.sig"},
		{"../etc/passwd", ""},
		{`..\..\x`, ""},
		{"a/../../x", ""},
		{"a/../b", ""},
		{"/etc/passwd", ""},
		{`C:\Users\tomas\FIRMA1.xml`, ""},
		{"C:/Users/carlos/Desktop/firmas/CONTRAFIRMA1.xml", ""},
		{`\\server\share\x`, ""},
		{"", ""},
		{".", ""},
		{"a\x00b", ""},
		{"a\nb", ""},
	} {
		got, err := saver.LocalName(c.in)
		if c.want == "" {
			if err == nil || !errors.Is(err, trifirma.ErrInvalidParams) {
				t.Errorf("LocalName(%q) = %q, %v; want an error", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("LocalName(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func newFile(t *testing.T, cfg saver.FileConfig, name string) batch.Saver {
	t.Helper()
	f, err := saver.File(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := f(trifirma.Params{saver.KeyFileName: name})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFileSaver(t *testing.T) {
	ctx := context.Background()
	it := &batch.Item{ID: "x"}
	root := t.TempDir()
	outside := t.TempDir()

	// Save, rollback.
	s := newFile(t, saver.FileConfig{Root: root}, "a.sig")
	if err := s.Save(ctx, it, trifirma.BytesSignature("signature")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, "a.sig"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved file: %v %v", fi, err)
	}
	if err := s.Rollback(ctx, it); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "a.sig")); !os.IsNotExist(err) {
		t.Fatalf("rollback left the file: %v", err)
	}

	// No overwrite by default; the existing file is untouched and not rolled back.
	if err := os.WriteFile(filepath.Join(root, "b.sig"), []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = newFile(t, saver.FileConfig{Root: root}, "b.sig")
	if err := s.Save(ctx, it, trifirma.BytesSignature("new")); err == nil {
		t.Fatal("overwrote an existing file")
	}
	if err := s.Rollback(ctx, it); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "b.sig")); string(b) != "precious" {
		t.Fatalf("existing file changed: %q", b)
	}
	// With Overwrite it is replaced.
	s = newFile(t, saver.FileConfig{Root: root, Overwrite: true}, "b.sig")
	if err := s.Save(ctx, it, trifirma.BytesSignature("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "b.sig")); string(b) != "new" {
		t.Fatalf("not replaced: %q", b)
	}
	// A rollback does not delete a file that was replaced after the save.
	if err := os.Remove(filepath.Join(root, "b.sig")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "b.sig"), []byte("someone else's"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Rollback(ctx, it); err == nil {
		t.Fatal("rolled back a file it did not write")
	}
	if b, _ := os.ReadFile(filepath.Join(root, "b.sig")); string(b) != "someone else's" {
		t.Fatalf("foreign file changed: %q", b)
	}

	// Symbolic links cannot lead outside the root.
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	s = newFile(t, saver.FileConfig{Root: root, MkdirAll: true}, "escape/c.sig")
	if err := s.Save(ctx, it, trifirma.BytesSignature("x")); err == nil {
		t.Fatal("wrote through a symbolic link leaving the root")
	}
	if err := os.Symlink(filepath.Join(outside, "d.sig"), filepath.Join(root, "d.sig")); err != nil {
		t.Fatal(err)
	}
	s = newFile(t, saver.FileConfig{Root: root, Overwrite: true}, "d.sig")
	if err := s.Save(ctx, it, trifirma.BytesSignature("x")); err == nil {
		t.Fatal("overwrote a symbolic link")
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("something was written outside the root: %v", ents)
	}

	// Subdirectories only with MkdirAll.
	s = newFile(t, saver.FileConfig{Root: root}, "sub/e.sig")
	if err := s.Save(ctx, it, trifirma.BytesSignature("x")); err == nil {
		t.Fatal("created a subdirectory without MkdirAll")
	}
	s = newFile(t, saver.FileConfig{Root: root, MkdirAll: true}, `sub\e.sig`)
	if err := s.Save(ctx, it, trifirma.BytesSignature("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "sub", "e.sig")); err != nil {
		t.Fatal(err)
	}

	// No temporary file is ever left behind.
	var leftovers []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && len(d.Name()) > 0 && d.Name()[0] == '.' && p != root {
			leftovers = append(leftovers, p)
		}
		return nil
	})
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}

	// Configuration errors.
	f, err := saver.File(saver.FileConfig{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "../x", "/abs"} {
		if _, err := f(trifirma.Params{saver.KeyFileName: name}); !errors.Is(err, trifirma.ErrInvalidParams) {
			t.Errorf("FileName %q: %v", name, err)
		}
	}
	if _, err := saver.File(saver.FileConfig{Root: filepath.Join(root, "missing")}); err == nil {
		t.Error("missing root accepted")
	}
}

func TestHTTPPostConfig(t *testing.T) {
	f := saver.HTTPPost(nil)
	for _, c := range []trifirma.Params{
		{},
		{saver.KeyPostURL: "https://example.org/x"},
		{saver.KeyPostURL: "https://example.org/x", saver.KeyPostParamName: "a&b"},
		{saver.KeyPostURL: "https://example.org/x", saver.KeyPostParamName: "firma"}, // no fetcher
	} {
		if _, err := f(c); err == nil {
			t.Errorf("config %v accepted", c)
		}
	}
}

func TestBaseNameOnly(t *testing.T) {
	root := t.TempDir()
	f, err := saver.File(saver.FileConfig{Root: root, BaseNameOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		`C:\Users\tomas\AppData\Local\Temp\FIRMA1.xml`:     "FIRMA1.xml",
		"C:/Users/carlos/Desktop/firmas/CONTRAFIRMA1.csig": "CONTRAFIRMA1.csig",
		"/etc/passwd": "passwd",
		"plain.sig":   "plain.sig",
	} {
		s, err := f(trifirma.Params{saver.KeyFileName: in})
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if err := s.Save(context.Background(), &batch.Item{}, trifirma.BytesSignature("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(root, want)); err != nil {
			t.Errorf("%q: %v", in, err)
		}
	}
	for _, in := range []string{`C:\x\..`, "dir/", ".."} {
		if _, err := f(trifirma.Params{saver.KeyFileName: in}); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
