package xades

import "strings"

// xw writes XML text. Every value goes through escaping; names are ours.
type xw struct{ strings.Builder }

func (w *xw) start(name string, attrs ...string) {
	w.WriteByte('<')
	w.WriteString(name)
	for i := 0; i+1 < len(attrs); i += 2 {
		w.WriteByte(' ')
		w.WriteString(attrs[i])
		w.WriteString(`="`)
		escapeAttr(&w.Builder, attrs[i+1])
		w.WriteByte('"')
	}
	w.WriteByte('>')
}

// empty writes <name attrs/>.
func (w *xw) empty(name string, attrs ...string) {
	w.start(name, attrs...)
	s := w.String()
	w.Reset()
	w.WriteString(s[:len(s)-1])
	w.WriteString("/>")
}

func (w *xw) end(name string) {
	w.WriteString("</")
	w.WriteString(name)
	w.WriteByte('>')
}

func (w *xw) text(s string) { escapeText(&w.Builder, s) }

// raw writes s unescaped (trusted markup or a placeholder).
func (w *xw) raw(s string) { w.WriteString(s) }

// elem writes <name attrs>text</name>.
func (w *xw) elem(name, text string, attrs ...string) {
	w.start(name, attrs...)
	w.text(text)
	w.end(name)
}

func escapeText(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '\r':
			rep = "&#xD;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(rep)
		last = i + 1
	}
	b.WriteString(s[last:])
}

func escapeAttr(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '<':
			rep = "&lt;"
		case '"':
			rep = "&quot;"
		case '\t':
			rep = "&#x9;"
		case '\n':
			rep = "&#xA;"
		case '\r':
			rep = "&#xD;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(rep)
		last = i + 1
	}
	b.WriteString(s[last:])
}
