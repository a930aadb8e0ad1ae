package cms

import (
	"errors"
	"fmt"
)

// ErrMalformed reports input that is not the expected ASN.1 structure. Engines wrap it with the
// root package's sentinel for the input concerned.
var ErrMalformed = errors.New("cms: malformed ASN.1")

// Limits of the BER reader.
const (
	// MaxDepth bounds the nesting of ASN.1 elements (a CMS with 25 levels of countersignatures
	// nests about 120 deep).
	MaxDepth = 128
	// MaxElements bounds the number of elements of one input, the segments of segmented
	// strings included (a 64 MiB content in the 1000-byte segments Java writes is 67,109
	// elements). It caps the reader's memory at about 128 bytes per element.
	MaxElements = 1 << 20
)

// node is one element of a BER (or DER) input.
type node struct {
	tag         []byte // identifier octets as read (the constructed bit is cleared for flattened strings)
	constructed bool
	full        []byte   // the element's original encoding (through its end-of-contents octets)
	kids        []*node  // children of a constructed element
	chunks      [][]byte // content of a primitive element (several pieces for a flattened string)
	der         bool     // full is already definite-length, minimal DER (as far as lengths go)
	clen        int      // cached DER content length; -1 when not computed
}

type berReader struct {
	elements int
}

// segmentable reports the universal string types BER may encode in segments.
func segmentable(tag byte) bool {
	switch tag &^ 0x20 {
	case TagOctetString, TagUTF8String, 0x12, TagPrintable, 0x14, 0x15, TagIA5String,
		0x19, 0x1a, 0x1b, 0x1c, 0x1e:
		return true
	}
	return false
}

// parseBER reads exactly one element from b (trailing bytes are an error).
func parseBER(b []byte) (*node, error) {
	r := &berReader{}
	n, rest, err := r.parse(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the top-level element", ErrMalformed, len(rest))
	}
	return n, nil
}

func (r *berReader) parse(b []byte, depth int) (*node, []byte, error) {
	if depth > MaxDepth {
		return nil, nil, fmt.Errorf("%w: elements nested deeper than %d", ErrMalformed, MaxDepth)
	}
	r.elements++
	if r.elements > MaxElements {
		return nil, nil, fmt.Errorf("%w: more than %d elements", ErrMalformed, MaxElements)
	}
	if len(b) < 2 {
		return nil, nil, fmt.Errorf("%w: truncated element", ErrMalformed)
	}
	// Identifier.
	i := 1
	if b[0]&0x1f == 0x1f {
		for {
			if i >= len(b) || i > 5 {
				return nil, nil, fmt.Errorf("%w: bad high tag number", ErrMalformed)
			}
			c := b[i]
			i++
			if c&0x80 == 0 {
				break
			}
		}
	}
	tag := b[:i]
	constructed := b[0]&0x20 != 0
	if i >= len(b) {
		return nil, nil, fmt.Errorf("%w: truncated length", ErrMalformed)
	}
	// Length.
	l0 := b[i]
	i++
	der := true
	n := &node{tag: tag, constructed: constructed, clen: -1}
	if l0 == 0x80 {
		if !constructed {
			return nil, nil, fmt.Errorf("%w: indefinite length on a primitive element", ErrMalformed)
		}
		rest := b[i:]
		for {
			if len(rest) >= 2 && rest[0] == 0 && rest[1] == 0 {
				rest = rest[2:]
				break
			}
			if len(rest) == 0 {
				return nil, nil, fmt.Errorf("%w: missing end-of-contents", ErrMalformed)
			}
			k, r2, err := r.parse(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			n.kids = append(n.kids, k)
			rest = r2
		}
		n.full = b[:len(b)-len(rest)]
		n.der = false
		if err := r.finish(n); err != nil {
			return nil, nil, err
		}
		return n, rest, nil
	}
	var length int
	if l0 < 0x80 {
		length = int(l0)
	} else {
		k := int(l0 & 0x7f)
		if k == 0x7f || k > 4 {
			return nil, nil, fmt.Errorf("%w: length of %d octets", ErrMalformed, k)
		}
		if i+k > len(b) {
			return nil, nil, fmt.Errorf("%w: truncated length", ErrMalformed)
		}
		for j := 0; j < k; j++ {
			length = length<<8 | int(b[i+j])
		}
		// Minimal DER: no leading zero octet and not encodable in short form.
		if b[i] == 0 || length < 0x80 {
			der = false
		}
		i += k
	}
	if length > len(b)-i {
		return nil, nil, fmt.Errorf("%w: element of %d bytes exceeds the %d available", ErrMalformed, length, len(b)-i)
	}
	content := b[i : i+length]
	n.full = b[:i+length]
	if constructed {
		rest := content
		for len(rest) > 0 {
			k, r2, err := r.parse(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			n.kids = append(n.kids, k)
			rest = r2
		}
	} else {
		n.chunks = [][]byte{content}
	}
	n.der = der
	if err := r.finish(n); err != nil {
		return nil, nil, err
	}
	return n, b[i+length:], nil
}

// finish computes the der flag of a constructed element and flattens segmented strings.
func (r *berReader) finish(n *node) error {
	if n.constructed {
		for _, k := range n.kids {
			if !k.der {
				n.der = false
			}
		}
		if len(n.tag) == 1 && segmentable(n.tag[0]) {
			prim := n.tag[0] &^ 0x20
			var chunks [][]byte
			var collect func(k *node) error
			collect = func(k *node) error {
				if len(k.tag) != 1 || k.tag[0]&^0x20 != prim {
					return fmt.Errorf("%w: segment of a constructed string has tag 0x%02x", ErrMalformed, k.tag[0])
				}
				if k.constructed {
					for _, kk := range k.kids {
						if err := collect(kk); err != nil {
							return err
						}
					}
					return nil
				}
				for _, c := range k.chunks {
					if len(c) > 0 {
						chunks = append(chunks, c)
					}
				}
				return nil
			}
			for _, k := range n.kids {
				if err := collect(k); err != nil {
					return err
				}
			}
			n.tag = []byte{prim}
			n.constructed = false
			n.kids = nil
			n.chunks = chunks
			n.der = false
		}
	}
	return nil
}

// contentLen returns the DER content length of n.
func (n *node) contentLen() int {
	if n.clen >= 0 {
		return n.clen
	}
	c := 0
	if n.constructed {
		for _, k := range n.kids {
			c += k.derLen()
		}
	} else {
		for _, p := range n.chunks {
			c += len(p)
		}
	}
	n.clen = c
	return c
}

func (n *node) derLen() int {
	if n.der {
		return len(n.full)
	}
	c := n.contentLen()
	return len(n.tag) + lenLen(c) + c
}

func (n *node) appendDER(dst []byte) []byte {
	if n.der {
		return append(dst, n.full...)
	}
	dst = append(dst, n.tag...)
	c := n.contentLen()
	dst = appendLen(dst, c)
	if n.constructed {
		for _, k := range n.kids {
			dst = k.appendDER(dst)
		}
		return dst
	}
	for _, p := range n.chunks {
		dst = append(dst, p...)
	}
	return dst
}

// DER returns the definite-length encoding of n: the input bytes themselves when they already
// are, otherwise a new buffer.
func (n *node) DER() []byte {
	if n.der {
		return n.full
	}
	return n.appendDER(make([]byte, 0, n.derLen()))
}

// is reports whether n has the single-octet identifier tag.
func (n *node) is(tag byte) bool { return len(n.tag) == 1 && n.tag[0] == tag }

// ToDER converts a BER encoding to definite-length form: indefinite lengths become definite,
// lengths become minimal and segmented strings become primitive. SET OF members are not
// re-ordered (signatures cover the original order). Input that is already definite-length is
// returned as is, without a copy. The conversion is bounded by [MaxDepth] and [MaxElements].
func ToDER(b []byte) ([]byte, error) {
	n, err := parseBER(b)
	if err != nil {
		return nil, err
	}
	return n.DER(), nil
}
