package pdf

import (
	"bytes"
	"strconv"
)

// maxDepth bounds the nesting of arrays and dictionaries.
const maxDepth = 64

func isWS(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func isRegular(c byte) bool { return !isWS(c) && !isDelim(c) }

// lexer parses PDF objects from a byte slice. base is the file offset of b[0].
type lexer struct {
	b    []byte
	pos  int
	base int64
	// short is set when parsing failed because the data ended (a larger window may succeed).
	short bool
}

func (l *lexer) eof() bool { return l.pos >= len(l.b) }

func (l *lexer) skipWS() {
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		if isWS(c) {
			l.pos++
			continue
		}
		if c == '%' {
			for l.pos < len(l.b) && l.b[l.pos] != '\n' && l.b[l.pos] != '\r' {
				l.pos++
			}
			continue
		}
		return
	}
}

// token returns the next regular token (keyword or number) without consuming delimiters.
func (l *lexer) regular() []byte {
	s := l.pos
	for l.pos < len(l.b) && isRegular(l.b[l.pos]) {
		l.pos++
	}
	return l.b[s:l.pos]
}

// peekKeyword reports whether the next token is kw (after white space); it consumes it if so.
func (l *lexer) keyword(kw string) bool {
	save := l.pos
	l.skipWS()
	t := l.regular()
	if string(t) == kw {
		return true
	}
	l.pos = save
	return false
}

func (l *lexer) errf(format string, a ...any) error {
	return malformed("at offset %d: "+format, append([]any{l.base + int64(l.pos)}, a...)...)
}

// readInt reads an unsigned integer token; ok is false if the next token is not one.
func (l *lexer) readInt() (int64, bool) {
	save := l.pos
	l.skipWS()
	t := l.regular()
	if len(t) == 0 || len(t) > 18 {
		l.pos = save
		return 0, false
	}
	var n int64
	for _, c := range t {
		if c < '0' || c > '9' {
			l.pos = save
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// object parses the next object. Indirect references (n g R) are recognised.
func (l *lexer) object(depth int) (Object, error) {
	if depth > maxDepth {
		return nil, l.errf("objects nested deeper than %d levels", maxDepth)
	}
	l.skipWS()
	if l.eof() {
		l.short = true
		return nil, l.errf("unexpected end of data")
	}
	c := l.b[l.pos]
	switch c {
	case '/':
		l.pos++
		return l.name(), nil
	case '(':
		l.pos++
		return l.literal()
	case '<':
		if l.pos+1 < len(l.b) && l.b[l.pos+1] == '<' {
			l.pos += 2
			return l.dict(depth)
		}
		l.pos++
		return l.hex()
	case '[':
		l.pos++
		var a Array
		for {
			l.skipWS()
			if l.eof() {
				l.short = true
				return nil, l.errf("unterminated array")
			}
			if l.b[l.pos] == ']' {
				l.pos++
				return a, nil
			}
			o, err := l.object(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, o)
		}
	case ']', ')', '>', '{', '}':
		return nil, l.errf("unexpected %q", c)
	}
	start := l.pos
	t := l.regular()
	if len(t) == 0 {
		l.pos++
		return nil, l.errf("unexpected byte 0x%02x", c)
	}
	switch string(t) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if !isNumberStart(t[0]) {
		l.pos = start
		return nil, l.errf("unexpected keyword %q", truncate(t))
	}
	// Integer followed by integer and R is a reference.
	if n, ok := parseUint(t); ok {
		save := l.pos
		if g, ok := l.readInt(); ok {
			if l.keyword("R") {
				if n > maxObjNum || g > 65535 {
					return nil, l.errf("reference %d %d R out of range", n, g)
				}
				return Ref{Num: int(n), Gen: int(g)}, nil
			}
		}
		l.pos = save
		return n, nil
	}
	return parseNumber(t), nil
}

func truncate(b []byte) string {
	if len(b) > 20 {
		return string(b[:20]) + "..."
	}
	return string(b)
}

func isNumberStart(c byte) bool { return c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9') }

func parseUint(t []byte) (int64, bool) {
	if len(t) == 0 || len(t) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseNumber parses a PDF number leniently (e.g. "--5", "5.", "-.5", "1.2.3" → 1.2). Garbage
// gives 0, as most readers do.
func parseNumber(t []byte) Object {
	neg := false
	i := 0
	for i < len(t) && (t[i] == '-' || t[i] == '+') {
		if t[i] == '-' {
			neg = !neg
		}
		i++
	}
	if len(t)-i > 1 && t[0] == '-' && t[1] == '-' {
		neg = true
	}
	j := i
	dot := false
	for j < len(t) && ((t[j] >= '0' && t[j] <= '9') || (t[j] == '.' && !dot)) {
		if t[j] == '.' {
			dot = true
		}
		j++
	}
	s := string(t[i:j])
	if !dot {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			if neg {
				n = -n
			}
			return n
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		f = 0
	}
	if neg {
		f = -f
	}
	if !dot {
		return f // integer too large for int64
	}
	return f
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (l *lexer) name() Name {
	s := l.pos
	plain := true
	for l.pos < len(l.b) && isRegular(l.b[l.pos]) {
		if l.b[l.pos] == '#' {
			plain = false
		}
		l.pos++
	}
	raw := l.b[s:l.pos]
	if plain {
		if n, ok := commonNames[string(raw)]; ok {
			return n
		}
		return Name(raw)
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		if raw[i] == '#' && i+2 < len(raw) {
			h, ok1 := unhex(raw[i+1])
			lo, ok2 := unhex(raw[i+2])
			if ok1 && ok2 {
				out = append(out, h<<4|lo)
				i += 2
				continue
			}
		}
		out = append(out, raw[i])
	}
	return Name(out)
}

func (l *lexer) literal() (Object, error) {
	var out []byte
	depth := 1
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
			out = append(out, c)
		case ')':
			depth--
			if depth == 0 {
				return String(out), nil
			}
			out = append(out, c)
		case '\r':
			// End-of-line markers in strings are read as \n.
			if l.pos < len(l.b) && l.b[l.pos] == '\n' {
				l.pos++
			}
			out = append(out, '\n')
		case '\\':
			if l.pos >= len(l.b) {
				l.short = true
				return nil, l.errf("unterminated string")
			}
			e := l.b[l.pos]
			l.pos++
			switch e {
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case '\r':
				if l.pos < len(l.b) && l.b[l.pos] == '\n' {
					l.pos++
				}
			case '\n':
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.pos < len(l.b) && l.b[l.pos] >= '0' && l.b[l.pos] <= '7'; k++ {
						v = v*8 + int(l.b[l.pos]-'0')
						l.pos++
					}
					out = append(out, byte(v))
				} else {
					out = append(out, e)
				}
			}
		default:
			out = append(out, c)
		}
	}
	l.short = true
	return nil, l.errf("unterminated string")
}

func (l *lexer) hex() (Object, error) {
	end := bytes.IndexByte(l.b[l.pos:], '>')
	if end < 0 {
		l.short = true
		return nil, l.errf("unterminated hex string")
	}
	raw := l.b[l.pos : l.pos+end]
	out := make([]byte, 0, len(raw)/2+1)
	var hi byte
	half := false
	for _, c := range raw {
		if isWS(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return nil, l.errf("bad hex digit %q in string", c)
		}
		if half {
			out = append(out, hi<<4|v)
			half = false
		} else {
			hi = v
			half = true
		}
	}
	if half {
		out = append(out, hi<<4)
	}
	l.pos += end + 1
	return String(out), nil
}

func (l *lexer) dict(depth int) (Object, error) {
	// Entries are gathered first (on the stack for small dictionaries) and copied once into
	// slices of the exact size; a later duplicate key replaces the earlier value, in place.
	var kbuf [16]Name
	var vbuf [16]Object
	keys, vals := kbuf[:0], vbuf[:0]
	var index map[Name]int // for large dictionaries: duplicate detection without a quadratic scan
	for {
		l.skipWS()
		if l.eof() {
			l.short = true
			return nil, l.errf("unterminated dictionary")
		}
		if l.b[l.pos] == '>' {
			if l.pos+1 < len(l.b) && l.b[l.pos+1] == '>' {
				l.pos += 2
				d := &Dict{keys: make([]Name, 0, len(keys)), vals: make([]Object, 0, len(keys))}
				for i, k := range keys {
					if vals[i] != nil { // a null value is an absent key
						d.keys = append(d.keys, k)
						d.vals = append(d.vals, vals[i])
					}
				}
				return d, nil
			}
			return nil, l.errf("unexpected '>' in dictionary")
		}
		if l.b[l.pos] != '/' {
			return nil, l.errf("dictionary key is not a name")
		}
		l.pos++
		k := l.name()
		l.skipWS()
		if !l.eof() && l.b[l.pos] == '>' && l.pos+1 < len(l.b) && l.b[l.pos+1] == '>' {
			// Key without value: treated as null.
			continue
		}
		v, err := l.object(depth + 1)
		if err != nil {
			return nil, err
		}
		dup := -1
		if index != nil {
			if i, ok := index[k]; ok {
				dup = i
			}
		} else {
			for i, ek := range keys {
				if ek == k {
					dup = i
					break
				}
			}
		}
		if dup >= 0 {
			vals[dup] = v
			continue
		}
		keys = append(keys, k)
		vals = append(vals, v)
		if index == nil && len(keys) > 32 {
			index = make(map[Name]int, 64)
			for i, ek := range keys {
				index[ek] = i
			}
		} else if index != nil {
			index[k] = len(keys) - 1
		}
	}
}

// commonNames are names interned so that parsing them allocates nothing.
var commonNames = func() map[string]Name {
	m := map[string]Name{}
	for _, n := range []Name{"Type", "Subtype", "Length", "Filter", "DecodeParms", "FlateDecode",
		"Root", "Info", "ID", "Size", "Prev", "Encrypt", "XRefStm", "XRef", "W", "Index", "ObjStm", "N",
		"First", "Extends", "Catalog", "Pages", "Page", "Kids", "Count", "Parent", "MediaBox",
		"CropBox", "Rotate", "Resources", "Contents", "Annots", "Font", "XObject", "ProcSet",
		"ExtGState", "ColorSpace", "Pattern", "Shading", "Properties", "Annot", "Widget", "Rect",
		"P", "F", "AP", "AS", "FT", "T", "V", "Ff", "DA", "DR", "MK", "Sig", "Tx", "Btn", "Ch",
		"AcroForm", "Fields", "SigFlags", "NeedAppearances", "Perms", "DocMDP", "UR", "UR3",
		"Metadata", "Names", "Outlines", "Dests", "OpenAction", "Lang", "MarkInfo", "StructTreeRoot",
		"Version", "Filter", "SubFilter", "ByteRange", "Reference", "M", "Name", "Reason",
		"Location", "ContactInfo", "BaseFont", "Encoding", "FirstChar", "LastChar", "Widths",
		"FontDescriptor", "WinAnsiEncoding", "Type1", "TrueType", "Type0", "Form", "Image",
		"BBox", "Matrix", "Width", "Height", "BitsPerComponent", "DeviceRGB", "DeviceGray",
		"Predictor", "Columns", "Colors", "Producer", "Creator", "CreationDate", "ModDate",
		"Title", "Author", "Subject", "Keywords", "Trapped", "Group", "S", "CS", "I", "K", "Border",
		"Link", "A", "URI", "D", "Dest", "Next", "Last", "Prev", "Parent", "Linearized", "L", "H",
		"O", "E", "Tabs", "StructParents", "Annots", "Nums", "PageLabels"} {
		m[string(n)] = n
	}
	return m
}()
