package pades

import (
	"errors"
	"io"
)

// Signed is a signed PDF held without a copy of the original document: the document's bytes
// followed by the incremental update that carries the new signature. It refers to the
// document it was made from, which must not change while the Signed value is used.
type Signed struct {
	doc []byte
	upd []byte
}

var (
	_ io.ReaderAt = (*Signed)(nil)
	_ io.WriterTo = (*Signed)(nil)
)

// Size returns the size of the signed PDF in bytes.
func (s *Signed) Size() int64 { return int64(len(s.doc)) + int64(len(s.upd)) }

// Update returns the bytes appended to the original document (its incremental update).
func (s *Signed) Update() []byte { return s.upd }

// Bytes returns the signed PDF in one new buffer (the one copy of the document).
func (s *Signed) Bytes() []byte {
	out := make([]byte, len(s.doc)+len(s.upd))
	copyChunked(out, s.doc)
	copy(out[len(s.doc):], s.upd)
	return out
}

// ReadAt implements io.ReaderAt over the signed PDF.
func (s *Signed) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("pades: negative offset")
	}
	n := 0
	d := int64(len(s.doc))
	if off < d {
		n = copy(p, s.doc[off:])
	}
	if n < len(p) {
		u := off + int64(n) - d
		if u >= 0 && u < int64(len(s.upd)) {
			n += copy(p[n:], s.upd[u:])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteTo writes the signed PDF to w: the document, then the update.
func (s *Signed) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for _, b := range [][]byte{s.doc, s.upd} {
		for len(b) > 0 {
			k, err := w.Write(b[:min(len(b), chunk)])
			n += int64(k)
			if err != nil {
				return n, err
			}
			b = b[k:]
		}
	}
	return n, nil
}
