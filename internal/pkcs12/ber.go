package pkcs12

import (
	"errors"
	"fmt"
)

// BER → DER conversion, as far as encoding/asn1 needs it:
//   - indefinite lengths become definite ones (end-of-contents octets removed);
//   - lengths are re-encoded minimally;
//   - constructed OCTET STRING, BIT STRING and character strings (which DER forbids) are joined
//     into one primitive string.
//
// Context-specific constructed elements are left as they are: whether "[0] constructed" holds
// an implicitly tagged string or an explicitly tagged value cannot be told without the schema,
// so the decoder handles those places itself (see joinImplicitOctets).
//
// Limits: the nesting depth is bounded by maxDepth, the element count by maxElements; the
// output is at most a few bytes per element longer than the input.

const (
	maxDepth    = 48
	maxElements = 1 << 18
)

var errBER = errors.New("pkcs12: malformed BER")

type berNode struct {
	class       byte // 0 universal, 1 application, 2 context, 3 private
	constructed bool
	tag         uint32
	content     []byte // primitive content (points into the input or into a joined buffer)
	clen        int    // DER content length, set by measure
	children    []*berNode
}

type berParser struct {
	elements int
}

// toDER converts one BER element (the whole of b) to DER. Trailing bytes are an error.
func toDER(b []byte) ([]byte, error) {
	p := &berParser{}
	n, rest, err := p.parse(b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the outer element", errBER, len(rest))
	}
	if err := normalize(n, 0); err != nil {
		return nil, err
	}
	cl := measure(n)
	out := make([]byte, 0, headerLen(n.tag, cl)+cl)
	out = encode(out, n)
	return out, nil
}

// parse reads one element from b and returns it with the remaining bytes.
func (p *berParser) parse(b []byte, depth int) (*berNode, []byte, error) {
	if depth > maxDepth {
		return nil, nil, fmt.Errorf("%w: nesting deeper than %d", errBER, maxDepth)
	}
	p.elements++
	if p.elements > maxElements {
		return nil, nil, fmt.Errorf("%w: more than %d elements", errBER, maxElements)
	}
	if len(b) < 2 {
		return nil, nil, fmt.Errorf("%w: truncated header", errBER)
	}
	n := &berNode{class: b[0] >> 6, constructed: b[0]&0x20 != 0}
	i := 1
	if t := b[0] & 0x1f; t != 0x1f {
		n.tag = uint32(t)
	} else {
		// High tag number form: base-128, at most 4 bytes (28 bits) accepted.
		var t uint32
		for k := 0; ; k++ {
			if i >= len(b) {
				return nil, nil, fmt.Errorf("%w: truncated tag", errBER)
			}
			if k == 4 {
				return nil, nil, fmt.Errorf("%w: tag number too large", errBER)
			}
			c := b[i]
			i++
			t = t<<7 | uint32(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
		n.tag = t
	}
	if i >= len(b) {
		return nil, nil, fmt.Errorf("%w: truncated length", errBER)
	}
	l := b[i]
	i++
	switch {
	case l == 0x80:
		if !n.constructed {
			return nil, nil, fmt.Errorf("%w: indefinite length on a primitive element", errBER)
		}
		rest := b[i:]
		for {
			if len(rest) < 2 {
				return nil, nil, fmt.Errorf("%w: missing end-of-contents", errBER)
			}
			if rest[0] == 0 && rest[1] == 0 {
				return n, rest[2:], nil
			}
			c, r, err := p.parse(rest, depth+1)
			if err != nil {
				return nil, nil, err
			}
			n.children = append(n.children, c)
			rest = r
		}
	case l == 0xff:
		return nil, nil, fmt.Errorf("%w: reserved length octet", errBER)
	}
	var length int
	if l < 0x80 {
		length = int(l)
	} else {
		k := int(l & 0x7f)
		if k > 4 {
			return nil, nil, fmt.Errorf("%w: length of %d octets", errBER, k)
		}
		if i+k > len(b) {
			return nil, nil, fmt.Errorf("%w: truncated length", errBER)
		}
		for _, c := range b[i : i+k] {
			length = length<<8 | int(c)
		}
		i += k
	}
	if length < 0 || length > len(b)-i {
		return nil, nil, fmt.Errorf("%w: element length %d exceeds the %d bytes left", errBER, length, len(b)-i)
	}
	body := b[i : i+length]
	rest := b[i+length:]
	if !n.constructed {
		if n.class == 0 && n.tag == 0 {
			return nil, nil, fmt.Errorf("%w: unexpected end-of-contents", errBER)
		}
		n.content = body
		return n, rest, nil
	}
	for len(body) > 0 {
		c, r, err := p.parse(body, depth+1)
		if err != nil {
			return nil, nil, err
		}
		n.children = append(n.children, c)
		body = r
	}
	return n, rest, nil
}

// joinable reports whether a universal tag is a string type that BER may split.
func joinable(tag uint32) bool {
	switch tag {
	case 3, 4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30:
		return true
	}
	return false
}

// normalize turns constructed universal strings into primitive ones, recursively.
func normalize(n *berNode, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", errBER, maxDepth)
	}
	if !n.constructed {
		return nil
	}
	if n.class == 0 && joinable(n.tag) {
		var segs [][]byte
		if err := collectSegments(n, n.tag, &segs, depth); err != nil {
			return err
		}
		var joined []byte
		if n.tag == 3 {
			// BIT STRING: each segment starts with its unused-bit count; only the last may be non-zero.
			total := 1
			for k, s := range segs {
				if len(s) == 0 {
					return fmt.Errorf("%w: empty BIT STRING segment", errBER)
				}
				if s[0] != 0 && k != len(segs)-1 {
					return fmt.Errorf("%w: unused bits in a non-final BIT STRING segment", errBER)
				}
				total += len(s) - 1
			}
			joined = make([]byte, 1, total)
			if len(segs) > 0 {
				joined[0] = segs[len(segs)-1][0]
			}
			for _, s := range segs {
				joined = append(joined, s[1:]...)
			}
		} else {
			total := 0
			for _, s := range segs {
				total += len(s)
			}
			joined = make([]byte, 0, total)
			for _, s := range segs {
				joined = append(joined, s...)
			}
		}
		n.constructed = false
		n.children = nil
		n.content = joined
		return nil
	}
	for _, c := range n.children {
		if err := normalize(c, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func collectSegments(n *berNode, tag uint32, segs *[][]byte, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", errBER, maxDepth)
	}
	for _, c := range n.children {
		if c.class != 0 || c.tag != tag {
			return fmt.Errorf("%w: constructed string segment with tag %d/%d, want universal %d", errBER, c.class, c.tag, tag)
		}
		if c.constructed {
			if err := collectSegments(c, tag, segs, depth+1); err != nil {
				return err
			}
			continue
		}
		*segs = append(*segs, c.content)
	}
	return nil
}

// measure computes and caches the DER content length of n and its descendants.
func measure(n *berNode) int {
	if !n.constructed {
		n.clen = len(n.content)
		return n.clen
	}
	total := 0
	for _, c := range n.children {
		cl := measure(c)
		total += headerLen(c.tag, cl) + cl
	}
	n.clen = total
	return total
}

// headerLen is the size of a DER identifier and length for the tag number and content length.
func headerLen(tag uint32, length int) int {
	h := 2
	if tag >= 0x1f {
		for t := tag; t > 0; t >>= 7 {
			h++
		}
	}
	if length >= 0x80 {
		for l := length; l > 0; l >>= 8 {
			h++
		}
	}
	return h
}

func encode(out []byte, n *berNode) []byte {
	first := n.class << 6
	if n.constructed {
		first |= 0x20
	}
	if n.tag < 0x1f {
		out = append(out, first|byte(n.tag))
	} else {
		out = append(out, first|0x1f)
		var tmp [5]byte
		k := len(tmp)
		t := n.tag
		k--
		tmp[k] = byte(t & 0x7f)
		t >>= 7
		for t > 0 {
			k--
			tmp[k] = byte(t&0x7f) | 0x80
			t >>= 7
		}
		out = append(out, tmp[k:]...)
	}
	l := n.clen
	switch {
	case l < 0x80:
		out = append(out, byte(l))
	default:
		var tmp [4]byte
		k := len(tmp)
		for v := l; v > 0; v >>= 8 {
			k--
			tmp[k] = byte(v)
		}
		out = append(out, 0x80|byte(len(tmp)-k))
		out = append(out, tmp[k:]...)
	}
	if !n.constructed {
		return append(out, n.content...)
	}
	for _, c := range n.children {
		out = encode(out, c)
	}
	return out
}
