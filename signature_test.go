package trifirma_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/trifirma/trifirma"
)

// pieces is a Signature written in several pieces, whose announced size may lie.
type pieces struct {
	parts [][]byte
	size  int64
	fail  error
}

func (p pieces) Size() int64 { return p.size }

func (p pieces) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, b := range p.parts {
		k, err := w.Write(b)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, p.fail
}

func TestSignatureBytes(t *testing.T) {
	b := trifirma.BytesSignature("abc")
	if got, err := trifirma.SignatureBytes(b); err != nil || &got[0] != &b[0] {
		t.Fatalf("a BytesSignature was copied or refused: %v", err)
	}
	var buf bytes.Buffer
	if n, err := b.WriteTo(&buf); n != 3 || err != nil || buf.String() != "abc" || b.Size() != 3 {
		t.Fatalf("WriteTo %d %v %q", n, err, buf.String())
	}
	for _, tc := range []struct {
		name string
		sig  pieces
		want string
		ok   bool
	}{
		{"exact", pieces{parts: [][]byte{[]byte("doc"), []byte("+update")}, size: 10}, "doc+update", true},
		{"longer-than-announced", pieces{parts: [][]byte{[]byte("doc"), []byte("+update")}, size: 5}, "", false},
		{"shorter-than-announced", pieces{parts: [][]byte{[]byte("doc")}, size: 5}, "", false},
		{"negative", pieces{size: -1}, "", false},
		{"write-error", pieces{parts: [][]byte{[]byte("doc")}, size: 3, fail: errors.New("disk")}, "", false},
	} {
		got, err := trifirma.SignatureBytes(tc.sig)
		if (err == nil) != tc.ok || string(got) != tc.want {
			t.Errorf("%s: %q, %v", tc.name, got, err)
		}
	}
}
