package xmldom

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Parse parses an XML document. Errors are *SyntaxError (wrapping ErrLimit or ErrDTD where
// that applies) or an encoding error.
func Parse(data []byte, lim Limits) (*Document, error) {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return nil, &SyntaxError{Msg: fmt.Sprintf("document of %d bytes exceeds the %d-byte limit", len(data), lim.MaxBytes), err: ErrLimit}
	}
	src, enc, bom, err := decode(data)
	if err != nil {
		return nil, &SyntaxError{Msg: err.Error()}
	}
	if len(src) > math.MaxInt32 {
		return nil, &SyntaxError{Msg: "decoded document exceeds 2 GiB", err: ErrLimit}
	}
	if err := checkChars(src); err != nil {
		return nil, err
	}
	p := &parser{src: src, lim: lim}
	d := &Document{Source: src, Encoding: enc, BOM: bom}
	d.Kind = DocumentNode
	d.Start, d.End = 0, int32(len(src))
	p.doc = d
	if err := p.document(); err != nil {
		return nil, err
	}
	if d.DeclaredEncoding != "" {
		de := CanonicalEncoding(d.DeclaredEncoding)
		switch {
		case de == "":
			return nil, p.errAt(0, "unsupported encoding %q", d.DeclaredEncoding)
		case enc == EncUTF16LE || enc == EncUTF16BE:
			if de != "UTF-16" && de != enc {
				return nil, p.errAt(0, "encoding %q declared in a UTF-16 document", d.DeclaredEncoding)
			}
		case de != enc:
			return nil, p.errAt(0, "encoding %q declared but the document is %s", d.DeclaredEncoding, enc)
		}
	}
	return d, nil
}

// checkChars verifies that src (valid UTF-8) holds only XML 1.0 characters.
func checkChars(src string) error {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c < 0x20 {
			if c != '\t' && c != '\n' && c != '\r' {
				return &SyntaxError{Offset: i, Line: lineAt(src, i), Msg: fmt.Sprintf("character U+%04X is not allowed in XML", c)}
			}
			continue
		}
		// U+FFFE and U+FFFF are EF BF BE / EF BF BF.
		if c == 0xEF && i+2 < len(src) && src[i+1] == 0xBF && (src[i+2] == 0xBE || src[i+2] == 0xBF) {
			return &SyntaxError{Offset: i, Line: lineAt(src, i), Msg: "character U+FFFE/U+FFFF is not allowed in XML"}
		}
	}
	return nil
}

func lineAt(s string, off int) int {
	if off > len(s) {
		off = len(s)
	}
	return strings.Count(s[:off], "\n") + 1
}

type parser struct {
	src       string
	pos       int
	lim       Limits
	doc       *Document
	elements  int
	arena     []Node
	chunk     int
	ns        []NS // in-scope bindings, innermost last
	attrBuf   []rawAttr
	attrArena []Attr
	achunk    int
	sb        strings.Builder
}

type rawAttr struct {
	name, value string
	off         int
}

func (p *parser) errAt(off int, format string, a ...any) error {
	return &SyntaxError{Offset: off, Line: lineAt(p.src, off), Msg: fmt.Sprintf(format, a...)}
}

func (p *parser) err(format string, a ...any) error { return p.errAt(p.pos, format, a...) }

func (p *parser) newNode(k Kind) *Node {
	if len(p.arena) == 0 {
		// Chunks grow with the document: small fragments stay small.
		p.chunk = min(max(2*p.chunk, 32), 4096)
		p.arena = make([]Node, p.chunk)
	}
	n := &p.arena[0]
	p.arena = p.arena[1:]
	n.Kind = k
	return n
}

func appendChild(parent, n *Node) {
	n.Parent = parent
	if parent.LastChild == nil {
		parent.FirstChild = n
	} else {
		parent.LastChild.Next = n
	}
	parent.LastChild = n
}

func (p *parser) has(s string) bool { return strings.HasPrefix(p.src[p.pos:], s) }

func (p *parser) skipSpace() bool {
	start := p.pos
	for p.pos < len(p.src) && isSpaceByte(p.src[p.pos]) {
		p.pos++
	}
	return p.pos > start
}

func (p *parser) document() error {
	if p.has("<?xml") && len(p.src) > 5 && isSpaceByte(p.src[5]) {
		if err := p.xmlDecl(); err != nil {
			return err
		}
	}
	d := &p.doc.Node
	sawRoot := false
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			break
		}
		switch {
		case p.has("<!--"):
			if err := p.comment(d); err != nil {
				return err
			}
		case p.has("<?"):
			if err := p.pi(d); err != nil {
				return err
			}
		case p.has("<!DOCTYPE") || p.has("<!doctype"):
			return &SyntaxError{Offset: p.pos, Line: lineAt(p.src, p.pos), Msg: "DOCTYPE declarations are not allowed (no DTD or entity processing)", err: ErrDTD}
		case p.has("<!"):
			return p.err("unexpected markup declaration")
		case p.has("<"):
			if sawRoot {
				return p.err("content after the document element")
			}
			sawRoot = true
			if err := p.element(d); err != nil {
				return err
			}
		default:
			return p.err("text outside the document element")
		}
	}
	if !sawRoot {
		return p.err("no document element")
	}
	return nil
}

func (p *parser) xmlDecl() error {
	end := strings.Index(p.src, "?>")
	if end < 0 {
		return p.err("unterminated XML declaration")
	}
	body := p.src[5:end]
	attrs, err := parsePseudoAttrs(body)
	if err != nil {
		return p.errAt(0, "malformed XML declaration: %v", err)
	}
	if len(attrs) == 0 || attrs[0][0] != "version" {
		return p.errAt(0, "XML declaration without version")
	}
	if attrs[0][1] != "1.0" {
		return p.errAt(0, "XML version %q is not supported (only 1.0)", attrs[0][1])
	}
	i := 1
	if i < len(attrs) && attrs[i][0] == "encoding" {
		p.doc.DeclaredEncoding = attrs[i][1]
		i++
	}
	if i < len(attrs) && attrs[i][0] == "standalone" {
		if v := attrs[i][1]; v != "yes" && v != "no" {
			return p.errAt(0, "invalid standalone value %q", v)
		}
		i++
	}
	if i != len(attrs) {
		return p.errAt(0, "unexpected %q in the XML declaration", attrs[i][0])
	}
	p.pos = end + 2
	p.doc.DeclEnd = p.pos
	return nil
}

func parsePseudoAttrs(s string) ([][2]string, error) {
	var out [][2]string
	i := 0
	for {
		j := i
		for j < len(s) && isSpaceByte(s[j]) {
			j++
		}
		if j == len(s) {
			return out, nil
		}
		if j == i {
			return nil, fmt.Errorf("missing white space")
		}
		i = j
		for j < len(s) && s[j] != '=' && !isSpaceByte(s[j]) {
			j++
		}
		name := s[i:j]
		for j < len(s) && isSpaceByte(s[j]) {
			j++
		}
		if j == len(s) || s[j] != '=' {
			return nil, fmt.Errorf("missing '=' after %q", name)
		}
		j++
		for j < len(s) && isSpaceByte(s[j]) {
			j++
		}
		if j == len(s) || (s[j] != '"' && s[j] != '\'') {
			return nil, fmt.Errorf("unquoted value of %q", name)
		}
		q := s[j]
		k := strings.IndexByte(s[j+1:], q)
		if k < 0 {
			return nil, fmt.Errorf("unterminated value of %q", name)
		}
		out = append(out, [2]string{name, s[j+1 : j+1+k]})
		i = j + 2 + k
	}
}

// nameByte classifies ASCII bytes: 1 = name character, 2 = also a start character.
var nameByte = func() (t [128]uint8) {
	for c := 0; c < 128; c++ {
		if isASCIINameChar(byte(c)) {
			t[c] = 1
			if !isDigitOrDotDash(byte(c)) {
				t[c] = 2
			}
		}
	}
	return
}()

func (p *parser) name() (string, error) {
	start := p.pos
	src := p.src
	if p.pos < len(src) && src[p.pos] < utf8.RuneSelf && nameByte[src[p.pos]] == 2 {
		p.pos++
		for p.pos < len(src) && src[p.pos] < utf8.RuneSelf && nameByte[src[p.pos]] != 0 {
			p.pos++
		}
	}
	for p.pos < len(src) {
		c := src[p.pos]
		if c < utf8.RuneSelf {
			if nameByte[c] == 2 || nameByte[c] == 1 && p.pos > start {
				p.pos++
				continue
			}
			break
		}
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if p.pos == start && !isNameStartRune(r) || p.pos > start && !isNameRune(r) {
			break
		}
		p.pos += n
	}
	if p.pos == start {
		return "", p.err("expected a name")
	}
	return p.src[start:p.pos], nil
}

func isDigitOrDotDash(c byte) bool { return c >= '0' && c <= '9' || c == '.' || c == '-' }

func isASCIINameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':' || c == '.' || c == '-'
}

func isNameStartRune(r rune) bool {
	switch {
	case r < 0x80:
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == ':'
	case r >= 0xC0 && r <= 0xD6, r >= 0xD8 && r <= 0xF6, r >= 0xF8 && r <= 0x2FF,
		r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF, r >= 0x200C && r <= 0x200D,
		r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF, r >= 0x3001 && r <= 0xD7FF,
		r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD, r >= 0x10000 && r <= 0xEFFFF:
		return true
	}
	return false
}

func isNameRune(r rune) bool {
	if isNameStartRune(r) {
		return true
	}
	return r < 0x80 && isASCIINameChar(byte(r)) || r == 0xB7 || r >= 0x300 && r <= 0x36F || r >= 0x203F && r <= 0x2040
}

// checkQName verifies the Namespaces in XML QName production.
func checkQName(q string) bool {
	i := strings.IndexByte(q, ':')
	if i < 0 {
		return true
	}
	return i > 0 && i < len(q)-1 && strings.IndexByte(q[i+1:], ':') < 0 && startsName(q[i+1:])
}

func startsName(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return isNameStartRune(r) && r != ':'
}

func (p *parser) comment(parent *Node) error {
	start := p.pos
	p.pos += 4
	end := strings.Index(p.src[p.pos:], "--")
	if end < 0 {
		return p.errAt(start, "unterminated comment")
	}
	end += p.pos
	if end+2 >= len(p.src) || p.src[end+2] != '>' {
		return p.errAt(end, "'--' is not allowed inside a comment")
	}
	n := p.newNode(CommentNode)
	n.Data = p.normalizeEOL(p.src[p.pos:end])
	n.Start, n.End = int32(start), int32(end+3)
	p.pos = end + 3
	appendChild(parent, n)
	return nil
}

func (p *parser) pi(parent *Node) error {
	start := p.pos
	p.pos += 2
	target, err := p.name()
	if err != nil {
		return err
	}
	if strings.EqualFold(target, "xml") {
		return p.errAt(start, "XML declaration not at the start of the document")
	}
	if strings.IndexByte(target, ':') >= 0 {
		return p.errAt(start, "colons are not allowed in processing instruction targets")
	}
	end := strings.Index(p.src[p.pos:], "?>")
	if end < 0 {
		return p.errAt(start, "unterminated processing instruction")
	}
	end += p.pos
	data := ""
	if p.pos < end {
		if !isSpaceByte(p.src[p.pos]) {
			return p.err("white space expected after the processing instruction target")
		}
		p.skipSpace()
		if p.pos < end {
			data = p.normalizeEOL(p.src[p.pos:end])
		}
	}
	n := p.newNode(ProcInstNode)
	n.Name = target
	n.Data = data
	n.Start, n.End = int32(start), int32(end+2)
	p.pos = end + 2
	appendChild(parent, n)
	return nil
}

func (p *parser) normalizeEOL(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// element parses an element starting at '<' and everything up to its end tag, iteratively.
func (p *parser) element(parent *Node) error {
	type frame struct {
		n     *Node
		nsLen int
	}
	var stack []frame
	cur := parent
	for {
		// At '<' of a start tag.
		n, empty, nsLen, err := p.startTag(cur)
		if err != nil {
			return err
		}
		if empty {
			p.ns = p.ns[:nsLen]
			if len(stack) == 0 {
				return nil
			}
		} else {
			stack = append(stack, frame{n, nsLen})
			if len(stack) > p.lim.MaxDepth {
				return &SyntaxError{Offset: int(n.Start), Line: lineAt(p.src, int(n.Start)), Msg: fmt.Sprintf("elements nested deeper than %d", p.lim.MaxDepth), err: ErrLimit}
			}
			cur = n
		}
		// Content until the next start tag (or the end of the outermost element).
	content:
		for {
			if p.pos >= len(p.src) {
				return p.errAt(int(stack[len(stack)-1].n.Start), "element <%s> is not closed", stack[len(stack)-1].n.Name)
			}
			c := p.src[p.pos]
			if c != '<' {
				if err := p.text(cur); err != nil {
					return err
				}
				continue
			}
			switch {
			case p.has("</"):
				f := stack[len(stack)-1]
				endStart := p.pos
				p.pos += 2
				name, err := p.name()
				if err != nil {
					return err
				}
				if name != f.n.Name {
					return p.errAt(endStart, "end tag </%s> does not match <%s>", name, f.n.Name)
				}
				p.skipSpace()
				if p.pos >= len(p.src) || p.src[p.pos] != '>' {
					return p.err("'>' expected at the end of </%s", name)
				}
				p.pos++
				f.n.InnerEnd = int32(endStart)
				f.n.End = int32(p.pos)
				p.ns = p.ns[:f.nsLen]
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return nil
				}
				cur = stack[len(stack)-1].n
			case p.has("<!--"):
				if err := p.comment(cur); err != nil {
					return err
				}
			case p.has("<![CDATA["):
				if err := p.cdata(cur); err != nil {
					return err
				}
			case p.has("<?"):
				if err := p.pi(cur); err != nil {
					return err
				}
			case p.has("<!"):
				return p.err("markup declarations are not allowed in content")
			default:
				break content
			}
		}
	}
}

func (p *parser) cdata(parent *Node) error {
	start := p.pos
	p.pos += len("<![CDATA[")
	end := strings.Index(p.src[p.pos:], "]]>")
	if end < 0 {
		return p.errAt(start, "unterminated CDATA section")
	}
	end += p.pos
	n := p.newNode(TextNode)
	n.CDATA = true
	n.Data = p.normalizeEOL(p.src[p.pos:end])
	n.Start, n.End = int32(start), int32(end+3)
	p.pos = end + 3
	appendChild(parent, n)
	return nil
}

func (p *parser) text(parent *Node) error {
	start := p.pos
	i := strings.IndexByte(p.src[start:], '<')
	if i < 0 {
		i = len(p.src)
	} else {
		i += start
	}
	seg := p.src[start:i]
	special := strings.IndexByte(seg, '&') >= 0 || strings.IndexByte(seg, '\r') >= 0
	if j := strings.Index(seg, "]]>"); j >= 0 {
		return p.errAt(start+j, "']]>' is not allowed in text")
	}
	raw := p.src[start:i]
	p.pos = i
	val := raw
	if special {
		var err error
		if val, err = p.expand(raw, start, false); err != nil {
			return err
		}
	}
	n := p.newNode(TextNode)
	n.Data = val
	n.Start, n.End = int32(start), int32(i)
	appendChild(parent, n)
	return nil
}

// expand resolves references and normalises line ends (and, for attributes, white space).
func (p *parser) expand(raw string, off int, attr bool) (string, error) {
	sb := &p.sb
	sb.Reset()
	sb.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '\r':
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			if attr {
				sb.WriteByte(' ')
			} else {
				sb.WriteByte('\n')
			}
		case '\n', '\t':
			if attr {
				sb.WriteByte(' ')
			} else {
				sb.WriteByte(c)
			}
		case '&':
			j := strings.IndexByte(raw[i:], ';')
			if j < 0 {
				return "", p.errAt(off+i, "'&' must start a reference (use &amp;)")
			}
			ref := raw[i+1 : i+j]
			r, err := resolveRef(ref)
			if err != nil {
				return "", p.errAt(off+i, "%v", err)
			}
			sb.WriteRune(r)
			i += j
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String(), nil
}

func resolveRef(ref string) (rune, error) {
	switch ref {
	case "lt":
		return '<', nil
	case "gt":
		return '>', nil
	case "amp":
		return '&', nil
	case "apos":
		return '\'', nil
	case "quot":
		return '"', nil
	}
	if strings.HasPrefix(ref, "#") {
		var v int64
		digits := ref[1:]
		base := int64(10)
		if strings.HasPrefix(digits, "x") {
			base = 16
			digits = digits[1:]
		}
		if digits == "" || len(digits) > 8 {
			return 0, fmt.Errorf("malformed character reference &%s;", ref)
		}
		for _, c := range digits {
			var d int64
			switch {
			case c >= '0' && c <= '9':
				d = int64(c - '0')
			case base == 16 && c >= 'a' && c <= 'f':
				d = int64(c-'a') + 10
			case base == 16 && c >= 'A' && c <= 'F':
				d = int64(c-'A') + 10
			default:
				return 0, fmt.Errorf("malformed character reference &%s;", ref)
			}
			v = v*base + d
		}
		r := rune(v)
		if !isXMLChar(r) {
			return 0, fmt.Errorf("character reference &%s; is not an XML character", ref)
		}
		return r, nil
	}
	if ref == "" {
		return 0, fmt.Errorf("empty entity reference")
	}
	return 0, fmt.Errorf("undefined entity &%s; (no DTD is processed)", ref)
}

func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// startTag parses "<name attrs>" or "<name attrs/>", appends the element to parent and
// returns it, whether it was empty, and the namespace stack length to restore at its end.
func (p *parser) startTag(parent *Node) (*Node, bool, int, error) {
	start := p.pos
	p.pos++
	name, err := p.name()
	if err != nil {
		return nil, false, 0, err
	}
	p.elements++
	if p.elements > p.lim.MaxElements {
		return nil, false, 0, &SyntaxError{Offset: start, Line: lineAt(p.src, start), Msg: fmt.Sprintf("more than %d elements", p.lim.MaxElements), err: ErrLimit}
	}
	attrs := p.attrBuf[:0]
	empty := false
	for {
		sp := p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, false, 0, p.errAt(start, "unterminated start tag <%s", name)
		}
		c := p.src[p.pos]
		if c == '>' {
			p.pos++
			break
		}
		if c == '/' {
			if !p.has("/>") {
				return nil, false, 0, p.err("'>' expected after '/'")
			}
			p.pos += 2
			empty = true
			break
		}
		if !sp {
			return nil, false, 0, p.err("white space expected before an attribute")
		}
		aoff := p.pos
		an, err := p.name()
		if err != nil {
			return nil, false, 0, err
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '=' {
			return nil, false, 0, p.err("'=' expected after attribute %s", an)
		}
		p.pos++
		p.skipSpace()
		if p.pos >= len(p.src) || (p.src[p.pos] != '"' && p.src[p.pos] != '\'') {
			return nil, false, 0, p.err("quoted value expected for attribute %s", an)
		}
		q := p.src[p.pos]
		p.pos++
		vs := p.pos
		k := strings.IndexByte(p.src[vs:], q)
		if k < 0 {
			return nil, false, 0, p.errAt(vs, "unterminated value of attribute %s", an)
		}
		val := p.src[vs : vs+k]
		if j := strings.IndexByte(val, '<'); j >= 0 {
			return nil, false, 0, p.errAt(vs+j, "'<' is not allowed in attribute values")
		}
		special := false
		for i := 0; i < len(val); i++ {
			if c := val[i]; c == '&' || c == '\r' || c == '\n' || c == '\t' {
				special = true
				break
			}
		}
		p.pos = vs + k + 1
		if special {
			if val, err = p.expand(val, vs, true); err != nil {
				return nil, false, 0, err
			}
		}
		for _, a := range attrs {
			if a.name == an {
				return nil, false, 0, p.errAt(aoff, "duplicate attribute %s", an)
			}
		}
		attrs = append(attrs, rawAttr{an, val, aoff})
		if len(attrs) > p.lim.MaxAttrs {
			return nil, false, 0, &SyntaxError{Offset: aoff, Line: lineAt(p.src, aoff), Msg: fmt.Sprintf("more than %d attributes", p.lim.MaxAttrs), err: ErrLimit}
		}
	}
	p.attrBuf = attrs
	n := p.newNode(ElementNode)
	n.Name = name
	n.Start = int32(start)
	n.InnerStart = int32(p.pos)
	if empty {
		n.InnerEnd, n.End = int32(p.pos), int32(p.pos)
	}
	nsLen := len(p.ns)
	if err := p.namespaces(n, attrs); err != nil {
		return nil, false, 0, err
	}
	appendChild(parent, n)
	return n, empty, nsLen, nil
}

func (p *parser) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return XMLNamespace, true
	}
	for i := len(p.ns) - 1; i >= 0; i-- {
		if p.ns[i].Prefix == prefix {
			return p.ns[i].URI, true
		}
	}
	return "", false
}

func (p *parser) namespaces(n *Node, attrs []rawAttr) error {
	nAttrs := 0
	for _, a := range attrs {
		if !checkQName(a.name) {
			return p.errAt(a.off, "attribute name %q is not a valid QName", a.name)
		}
		switch {
		case a.name == "xmlns":
			if a.value == XMLNamespace || a.value == XMLNSNamespace {
				return p.errAt(a.off, "the default namespace cannot be %s", a.value)
			}
			n.NS = append(n.NS, NS{"", a.value})
		case strings.HasPrefix(a.name, "xmlns:"):
			pfx := a.name[6:]
			switch {
			case pfx == "xmlns":
				return p.errAt(a.off, "the xmlns prefix cannot be declared")
			case pfx == "xml" && a.value != XMLNamespace:
				return p.errAt(a.off, "the xml prefix cannot be bound to %q", a.value)
			case pfx != "xml" && (a.value == XMLNamespace || a.value == XMLNSNamespace):
				return p.errAt(a.off, "prefix %s cannot be bound to %s", pfx, a.value)
			case a.value == "":
				return p.errAt(a.off, "prefix %s cannot be undeclared in XML 1.0", pfx)
			}
			n.NS = append(n.NS, NS{pfx, a.value})
		default:
			nAttrs++
		}
	}
	p.ns = append(p.ns, n.NS...)
	if !checkQName(n.Name) {
		return p.errAt(int(n.Start), "element name %q is not a valid QName", n.Name)
	}
	pfx, _ := splitQName(n.Name)
	if pfx == "xmlns" {
		return p.errAt(int(n.Start), "element names cannot use the xmlns prefix")
	}
	uri, ok := p.lookup(pfx)
	if !ok && pfx != "" {
		return p.errAt(int(n.Start), "prefix %s of element <%s> is not bound", pfx, n.Name)
	}
	n.Space = uri
	if nAttrs == 0 {
		return nil
	}
	if len(p.attrArena) < nAttrs {
		p.achunk = min(max(2*p.achunk, 16), 2048)
		p.attrArena = make([]Attr, max(p.achunk, nAttrs))
	}
	n.Attrs = p.attrArena[:0:nAttrs]
	p.attrArena = p.attrArena[nAttrs:]
	for _, a := range attrs {
		if a.name == "xmlns" || strings.HasPrefix(a.name, "xmlns:") {
			continue
		}
		at := Attr{Name: a.name, Value: a.value}
		if apfx, local := splitQName(a.name); apfx != "" {
			u, ok := p.lookup(apfx)
			if !ok {
				return p.errAt(a.off, "prefix %s of attribute %s is not bound", apfx, a.name)
			}
			at.Space = u
			for _, b := range n.Attrs {
				if b.Space == u && b.Local() == local {
					return p.errAt(a.off, "attributes %s and %s have the same expanded name", b.Name, a.name)
				}
			}
		}
		n.Attrs = append(n.Attrs, at)
		if IsIDAttr(&at) {
			if p.doc.ids == nil {
				p.doc.ids = map[string][]*Node{}
			}
			if l := p.doc.ids[at.Value]; len(l) == 0 || l[len(l)-1] != n {
				p.doc.ids[at.Value] = append(l, n)
			}
		}
	}
	return nil
}

// ParseFragment parses text (UTF-8, one element with optional surrounding white space, no
// XML declaration) as if it appeared where the namespaces of scope are in effect; prefixes
// bound in scope resolve without being declared in text. The element is returned as the root
// of its own Document; callers graft it under an existing element by setting its Parent (the
// canonicaliser then takes the namespaces and xml: attributes of that element's ancestors).
func ParseFragment(text string, scope []NS, lim Limits) (*Document, error) {
	lim = lim.withDefaults()
	if len(text) > lim.MaxBytes {
		return nil, &SyntaxError{Msg: fmt.Sprintf("fragment of %d bytes exceeds the %d-byte limit", len(text), lim.MaxBytes), err: ErrLimit}
	}
	if !utf8.ValidString(text) {
		return nil, &SyntaxError{Msg: "fragment is not valid UTF-8"}
	}
	if err := checkChars(text); err != nil {
		return nil, err
	}
	p := &parser{src: text, lim: lim, ns: append([]NS(nil), scope...)}
	d := &Document{Source: text, Encoding: EncUTF8}
	d.Kind = DocumentNode
	d.Start, d.End = 0, int32(len(text))
	p.doc = d
	p.skipSpace()
	if !p.has("<") || p.has("<?") || p.has("<!") {
		return nil, p.err("a fragment must start with an element")
	}
	if err := p.element(&d.Node); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(text) {
		return nil, p.err("content after the fragment element")
	}
	return d, nil
}

// Decode returns the UTF-8 text of an XML document's bytes (byte order mark removed), the
// canonical name of its encoding and whether it had a byte order mark, without parsing it.
func Decode(data []byte) (text, encoding string, bom bool, err error) {
	return decode(data)
}
