package cms

import (
	"bytes"
	"slices"
)

// ASN.1 identifier octets used by the writers.
const (
	TagInteger     = 0x02
	TagBitString   = 0x03
	TagOctetString = 0x04
	TagNull        = 0x05
	TagOID         = 0x06
	TagUTF8String  = 0x0c
	TagPrintable   = 0x13
	TagIA5String   = 0x16
	TagUTCTime     = 0x17
	TagGenTime     = 0x18
	TagSequence    = 0x30
	TagSet         = 0x31
	// TagContext0..3 are constructed context-specific tags [0]..[3].
	TagContext0 = 0xa0
	TagContext1 = 0xa1
	TagContext2 = 0xa2
	TagContext3 = 0xa3
	TagContext4 = 0xa4
)

// Elem is a DER element under construction: either pre-encoded bytes, a primitive value whose
// content may be given in several pieces (so a large document is never concatenated), or a
// constructed value. Lengths are computed before anything is written, so [Elem.Bytes] makes
// exactly one allocation of the final size.
type Elem struct {
	tag      byte
	raw      []byte
	content  [][]byte
	children []*Elem
	clen     int // cached content length; -1 when not computed
}

// Raw wraps an already encoded element (tag, length and content).
func Raw(der []byte) *Elem { return &Elem{raw: der, clen: -1} }

// Prim returns a primitive element whose content is the concatenation of pieces. The pieces are
// referenced, not copied.
func Prim(tag byte, pieces ...[]byte) *Elem {
	return &Elem{tag: tag, content: pieces, clen: -1}
}

// Cons returns a constructed element (SEQUENCE, explicit tag, ...). Nil children are skipped.
func Cons(tag byte, children ...*Elem) *Elem {
	kids := make([]*Elem, 0, len(children))
	for _, c := range children {
		if c != nil {
			kids = append(kids, c)
		}
	}
	return &Elem{tag: tag, children: kids, clen: -1}
}

// Seq is Cons(TagSequence, children...).
func Seq(children ...*Elem) *Elem { return Cons(TagSequence, children...) }

// SetOf returns a DER SET OF (or, with another tag, an IMPLICIT-tagged SET OF) of already encoded
// members, sorted as X.690 11.6 requires. When dedup is true, identical encodings appear once.
func SetOf(tag byte, members [][]byte, dedup bool) *Elem {
	m := slices.Clone(members)
	slices.SortFunc(m, bytes.Compare)
	if dedup {
		m = slices.CompactFunc(m, bytes.Equal)
	}
	kids := make([]*Elem, len(m))
	for i, b := range m {
		kids[i] = Raw(b)
	}
	return &Elem{tag: tag, children: kids, clen: -1}
}

func (e *Elem) contentLen() int {
	if e.clen >= 0 {
		return e.clen
	}
	n := 0
	switch {
	case e.raw != nil:
		n = len(e.raw)
	case e.children != nil:
		for _, c := range e.children {
			n += c.Len()
		}
	default:
		for _, p := range e.content {
			n += len(p)
		}
	}
	e.clen = n
	return n
}

// Len returns the encoded length of e.
func (e *Elem) Len() int {
	if e.raw != nil {
		return len(e.raw)
	}
	n := e.contentLen()
	return 1 + lenLen(n) + n
}

func lenLen(n int) int {
	if n < 0x80 {
		return 1
	}
	l := 1
	for ; n > 0; n >>= 8 {
		l++
	}
	return l
}

// AppendHeader appends a DER identifier and length.
func AppendHeader(dst []byte, tag byte, n int) []byte {
	return appendLen(append(dst, tag), n)
}

func appendLen(dst []byte, n int) []byte {
	if n < 0x80 {
		return append(dst, byte(n))
	}
	k := lenLen(n) - 1
	dst = append(dst, 0x80|byte(k))
	for i := k - 1; i >= 0; i-- {
		dst = append(dst, byte(n>>(8*i)))
	}
	return dst
}

// AppendTo appends the encoding of e to dst.
func (e *Elem) AppendTo(dst []byte) []byte {
	if e.raw != nil {
		return append(dst, e.raw...)
	}
	dst = AppendHeader(dst, e.tag, e.contentLen())
	if e.children != nil {
		for _, c := range e.children {
			dst = c.AppendTo(dst)
		}
		return dst
	}
	for _, p := range e.content {
		dst = append(dst, p...)
	}
	return dst
}

// Bytes returns the encoding of e in a buffer of exactly its size.
func (e *Elem) Bytes() []byte {
	return e.AppendTo(make([]byte, 0, e.Len()))
}

// WithTag returns der (an encoded element with a single-octet identifier) with its identifier
// replaced, e.g. to turn a SET (0x31) into the [0] IMPLICIT signedAttrs (0xa0). The result is a
// new slice.
func WithTag(der []byte, tag byte) []byte {
	out := slices.Clone(der)
	if len(out) > 0 {
		out[0] = tag
	}
	return out
}
