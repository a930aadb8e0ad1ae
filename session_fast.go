package trifirma

import (
	"bytes"
	"strconv"
	"strings"
)

// parseTriphaseDataFast parses the plain XML that servers and clients actually exchange (an
// optional XML declaration, elements with unprefixed names and quoted attributes, ASCII text
// with the predefined entities and character references, comments) without encoding/xml's
// per-token allocations. It returns ok=false for anything outside that subset (DOCTYPE, CDATA,
// processing instructions, prefixes, CR, non-ASCII, structure the session model rejects), and
// ParseTriphaseData then runs the general parser, which decides. Whatever it accepts, the
// general parser accepts with the same result (FuzzParseTriphaseData checks this).
func parseTriphaseDataFast(data []byte) (*TriphaseData, bool) {
	p := fastParser{data: data}
	for _, c := range data {
		if c >= 0x80 || c == '\r' || (c < 0x20 && c != '\t' && c != '\n') {
			return nil, false
		}
	}
	if bytes.Contains(data, []byte("]]>")) {
		return nil, false
	}
	p.skipWS()
	if bytes.HasPrefix(p.rest(), []byte("<?xml")) {
		end := bytes.Index(p.rest(), []byte("?>"))
		if end < 0 || !p.validDecl(p.rest()[:end]) {
			return nil, false
		}
		p.i += end + 2
	}
	if !p.skipMisc() {
		return nil, false
	}
	td := &TriphaseData{}
	if !p.element(1, td, nil, nil) {
		return nil, false
	}
	if !p.skipMisc() || p.i != len(p.data) || !p.sawFirmas {
		return nil, false
	}
	return td, true
}

type fastParser struct {
	data      []byte
	i         int
	sawFirmas bool
	sawChild  bool
}

func (p *fastParser) rest() []byte { return p.data[p.i:] }

func (p *fastParser) skipWS() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n':
			p.i++
		default:
			return
		}
	}
}

// validDecl accepts only a plain version/encoding declaration naming UTF-8 (or none).
func (p *fastParser) validDecl(decl []byte) bool {
	d := string(decl)
	if !strings.HasPrefix(d, "<?xml ") || !strings.Contains(d, "version=") {
		return false
	}
	if i := strings.Index(d, "encoding="); i >= 0 {
		f := strings.Fields(d[i+len("encoding="):])
		if len(f) == 0 {
			return false
		}
		if e := strings.ToLower(strings.Trim(f[0], `"'`)); e != "utf-8" {
			return false
		}
	}
	return true
}

// skipMisc skips white space and comments.
func (p *fastParser) skipMisc() bool {
	for {
		p.skipWS()
		if !bytes.HasPrefix(p.rest(), []byte("<!--")) {
			return true
		}
		end := bytes.Index(p.data[p.i+4:], []byte("-->"))
		if end < 0 || badComment(p.data[p.i+4:p.i+4+end]) {
			return false
		}
		p.i += 4 + end + 3
	}
}

func isNameStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isNameChar(c byte) bool {
	return isNameStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'
}

func (p *fastParser) name() (string, bool) {
	start := p.i
	if p.i >= len(p.data) || !isNameStart(p.data[p.i]) {
		return "", false
	}
	for p.i < len(p.data) && isNameChar(p.data[p.i]) {
		p.i++
	}
	return string(p.data[start:p.i]), true
}

// element parses one element at depth (1 = root) and records what the session model needs.
func (p *fastParser) element(depth int, td *TriphaseData, sign *SignData, param *strings.Builder) bool {
	if depth > 4 || p.i >= len(p.data) || p.data[p.i] != '<' {
		return false
	}
	p.i++
	name, ok := p.name()
	if !ok {
		return false
	}
	var attrs [][2]string
	for {
		hadWS := p.i < len(p.data) && (p.data[p.i] == ' ' || p.data[p.i] == '\t' || p.data[p.i] == '\n')
		p.skipWS()
		if p.i >= len(p.data) {
			return false
		}
		c := p.data[p.i]
		if c == '/' || c == '>' {
			break
		}
		if !hadWS {
			return false
		}
		an, ok := p.name()
		if !ok {
			return false
		}
		p.skipWS()
		if p.i >= len(p.data) || p.data[p.i] != '=' {
			return false
		}
		p.i++
		p.skipWS()
		if p.i >= len(p.data) || (p.data[p.i] != '"' && p.data[p.i] != '\'') {
			return false
		}
		q := p.data[p.i]
		p.i++
		end := bytes.IndexByte(p.data[p.i:], q)
		if end < 0 {
			return false
		}
		raw := p.data[p.i : p.i+end]
		p.i += end + 1
		if bytes.IndexByte(raw, '<') >= 0 || bytes.IndexByte(raw, '\t') >= 0 || bytes.IndexByte(raw, '\n') >= 0 {
			return false
		}
		v, ok := unescapeFast(raw)
		if !ok {
			return false
		}
		for _, a := range attrs {
			if a[0] == an {
				return false
			}
		}
		attrs = append(attrs, [2]string{an, v})
	}
	get := func(n string) string {
		for _, a := range attrs {
			if a[0] == n {
				return a[1]
			}
		}
		return ""
	}
	// Record the element as ParseTriphaseData does.
	var text *strings.Builder
	switch depth {
	case 2:
		if p.sawChild {
			// Only the first element child of the root is read; later ones are skipped.
			depth = 5
			break
		}
		p.sawChild = true
		if !strings.EqualFold(name, "firmas") {
			return false
		}
		p.sawFirmas = true
		td.Format = get("format")
	case 3:
		sign = &SignData{ID: get("Id"), SignID: get("signid")}
		td.Signs = append(td.Signs, sign)
	case 4:
		sign.Params = append(sign.Params, Param{Name: get("n")})
		text = &strings.Builder{}
	}
	if p.data[p.i] == '/' {
		if p.i+1 >= len(p.data) || p.data[p.i+1] != '>' {
			return false
		}
		p.i += 2
		if text != nil {
			sign.Params[len(sign.Params)-1].Value = ""
		}
		return true
	}
	p.i++ // '>'
	for {
		lt := bytes.IndexByte(p.data[p.i:], '<')
		if lt < 0 {
			return false
		}
		if lt > 0 {
			chunk := p.data[p.i : p.i+lt]
			if text != nil {
				v, ok := unescapeFast(chunk)
				if !ok {
					return false
				}
				text.WriteString(v)
			} else if bytes.IndexByte(chunk, '&') >= 0 {
				if _, ok := unescapeFast(chunk); !ok {
					return false
				}
			}
			p.i += lt
		}
		rest := p.rest()
		switch {
		case bytes.HasPrefix(rest, []byte("</")):
			p.i += 2
			en, ok := p.name()
			if !ok || en != name {
				return false
			}
			p.skipWS()
			if p.i >= len(p.data) || p.data[p.i] != '>' {
				return false
			}
			p.i++
			if text != nil {
				sign.Params[len(sign.Params)-1].Value = strings.TrimSpace(text.String())
			}
			return true
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(p.data[p.i+4:], []byte("-->"))
			if end < 0 || badComment(p.data[p.i+4:p.i+4+end]) {
				return false
			}
			p.i += 4 + end + 3
		case depth >= 5:
			// Inside a skipped subtree: parse for well-formedness only.
			if !p.element(5, td, nil, nil) {
				return false
			}
		default:
			if text != nil {
				return false // nested element in a param
			}
			if !p.element(depth+1, td, sign, nil) {
				return false
			}
		}
	}
}

// unescapeFast decodes the predefined entities and character references.
func unescapeFast(b []byte) (string, bool) {
	if bytes.IndexByte(b, '&') < 0 {
		return string(b), true
	}
	var sb strings.Builder
	for len(b) > 0 {
		amp := bytes.IndexByte(b, '&')
		if amp < 0 {
			sb.Write(b)
			break
		}
		sb.Write(b[:amp])
		b = b[amp:]
		semi := bytes.IndexByte(b, ';')
		if semi < 0 {
			return "", false
		}
		ent := string(b[1:semi])
		b = b[semi+1:]
		switch ent {
		case "lt":
			sb.WriteByte('<')
		case "gt":
			sb.WriteByte('>')
		case "amp":
			sb.WriteByte('&')
		case "quot":
			sb.WriteByte('"')
		case "apos":
			sb.WriteByte('\'')
		default:
			var n uint64
			var err error
			switch {
			case strings.HasPrefix(ent, "#x"):
				n, err = strconv.ParseUint(ent[2:], 16, 32)
			case strings.HasPrefix(ent, "#"):
				n, err = strconv.ParseUint(ent[1:], 10, 32)
			default:
				return "", false
			}
			// Only printable ASCII and tab/LF through the fast path.
			if err != nil || len(ent) < 2 || !(n == '\t' || n == '\n' || (n >= 0x20 && n < 0x7f)) {
				return "", false
			}
			sb.WriteByte(byte(n))
		}
	}
	return sb.String(), true
}

// badComment reports comment text XML forbids: "--" inside, or a trailing '-'.
func badComment(c []byte) bool {
	return bytes.Contains(c, []byte("--")) || bytes.HasSuffix(c, []byte("-"))
}
