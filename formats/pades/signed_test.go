package pades_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/trifirma/trifirma/internal/validate"
)

// TestPostsignIncremental: the Signed value reads (io.ReaderAt, io.WriterTo, Bytes) exactly
// as Postsign's buffer, across the document/update boundary and past the end.
func TestPostsignIncremental(t *testing.T) {
	c := newBenchCase(t, 5000)
	want, err := c.eng.Postsign(ctx, c.req, c.td)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.eng.PostsignIncremental(ctx, c.req, c.td)
	if err != nil {
		t.Fatal(err)
	}
	if s.Size() != int64(len(want)) || !bytes.Equal(s.Bytes(), want) {
		t.Fatal("Bytes differs from Postsign")
	}
	check(t, want, 1, validate.Options{})
	if !bytes.Equal(s.Update(), want[len(c.req.Document):]) {
		t.Fatal("Update is not the appended part")
	}
	var w bytes.Buffer
	if n, err := s.WriteTo(&w); err != nil || n != s.Size() || !bytes.Equal(w.Bytes(), want) {
		t.Fatalf("WriteTo: %d, %v", n, err)
	}
	if got, err := io.ReadAll(io.NewSectionReader(s, 0, s.Size())); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadAt through a SectionReader: %v", err)
	}
	d := int64(len(c.req.Document))
	for _, tc := range []struct {
		off  int64
		n    int
		want int
		eof  bool
	}{
		{0, 10, 10, false},
		{d - 5, 10, 10, false}, // across the boundary
		{d, 10, 10, false},
		{s.Size() - 4, 10, 4, true}, // past the end
		{s.Size(), 10, 0, true},
		{s.Size() + 100, 10, 0, true},
	} {
		p := make([]byte, tc.n)
		n, err := s.ReadAt(p, tc.off)
		if n != tc.want || (err == io.EOF) != tc.eof || (err != nil && err != io.EOF) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", tc.n, tc.off, n, err)
		}
		if !bytes.Equal(p[:n], want[min(tc.off, int64(len(want))):min(tc.off+int64(n), int64(len(want)))]) {
			t.Fatalf("ReadAt at %d: wrong bytes", tc.off)
		}
	}
	if _, err := s.ReadAt(make([]byte, 1), -1); err == nil {
		t.Fatal("negative offset accepted")
	}
}
