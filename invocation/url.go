package invocation

import (
	"errors"
	"fmt"
	"strings"
)

// Scheme is the URL scheme the @firma apps register.
const Scheme = "afirma"

// Param is one query parameter of an invocation URL, in order.
type Param struct {
	// Key is the parameter name, written as is.
	Key string
	// Value is the decoded value.
	Value string
	// Verbatim writes Value without percent-encoding (the reference JavaScript does this for
	// the "ports" list of socket sessions). Only use it for values made of URL-safe characters.
	Verbatim bool
}

// URL is an afirma:// invocation URL: the operation (the URL's host part) and the ordered query
// parameters. Its String method writes it; [Parse] reads one.
type URL struct {
	// Op is the host part: an operation code, "websocket" or "service".
	Op string
	// Slash writes "afirma://op/?..." instead of "afirma://op?..."; the apps accept both.
	Slash bool
	// Params are the query parameters in order.
	Params []Param
}

// String writes the URL. Keys are written as they are; values are percent-encoded like the
// reference JavaScript's encodeURIComponent (everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) is
// escaped as UTF-8 %XX), unless Verbatim.
func (u URL) String() string {
	var b strings.Builder
	n := len(Scheme) + 4 + len(u.Op)
	for _, p := range u.Params {
		n += len(p.Key) + len(p.Value) + 2
	}
	b.Grow(n + n/4)
	b.WriteString(Scheme)
	b.WriteString("://")
	b.WriteString(u.Op)
	if u.Slash {
		b.WriteByte('/')
	}
	for i, p := range u.Params {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(p.Key)
		b.WriteByte('=')
		if p.Verbatim {
			b.WriteString(p.Value)
		} else {
			writeURIComponent(&b, p.Value)
		}
	}
	return b.String()
}

// Get returns the value of the first parameter named key.
func (u URL) Get(key string) (string, bool) {
	for _, p := range u.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// add appends a parameter when value is not empty.
func (u *URL) add(key, value string) {
	if value != "" {
		u.Params = append(u.Params, Param{Key: key, Value: value})
	}
}

const upperHex = "0123456789ABCDEF"

func uriUnreserved(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '!', '~', '*', '\'', '(', ')':
		return true
	}
	return false
}

func writeURIComponent(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if uriUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
}

// EncodeURIComponent percent-encodes s like JavaScript's encodeURIComponent (byte-wise over
// the UTF-8 text).
func EncodeURIComponent(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	writeURIComponent(&b, s)
	return b.String()
}

// ErrURL reports text that is not an afirma:// URL.
var ErrURL = errors.New("invocation: not an afirma:// URL")

// Parse reads an afirma:// URL the way the apps do (ProtocolInvocationUriParser): the operation
// is the text between "://" and the first '/' or '?'; the query is split on '&' and on the first
// '=', pairs without a key or '=' are skipped, and values are decoded like java.net.URLDecoder
// ('+' is a space). Parameters keep their order and duplicates.
func Parse(s string) (URL, error) {
	rest, ok := strings.CutPrefix(s, Scheme+"://")
	if !ok {
		return URL{}, fmt.Errorf("%w: %.40q", ErrURL, s)
	}
	path, query, _ := strings.Cut(rest, "?")
	var u URL
	u.Op, _, u.Slash = strings.Cut(path, "/")
	if u.Op == "" {
		return URL{}, fmt.Errorf("%w: no operation", ErrURL)
	}
	if query == "" {
		return u, nil
	}
	for _, pair := range strings.Split(query, "&") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			continue
		}
		dv, err := urlDecode(v)
		if err != nil {
			return URL{}, fmt.Errorf("%w: parameter %q: %v", ErrURL, k, err)
		}
		u.Params = append(u.Params, Param{Key: k, Value: dv})
	}
	return u, nil
}

// urlDecode decodes like java.net.URLDecoder: '+' is a space, %XX a byte.
func urlDecode(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return "", errors.New("malformed %-escape")
			}
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// XML returns the operation document the apps download through the intermediate server when
// the URL itself would be too long: <op><e k="KEY" v="VALUE"/>...</op> with no white space (the
// apps' parser refuses text nodes between the elements) and each value encoded like
// encodeURIComponent (the apps URL-decode every value, and the encoding also escapes every
// character XML would need escaped).
func (u URL) XML() []byte {
	var b strings.Builder
	b.WriteByte('<')
	b.WriteString(u.Op)
	b.WriteByte('>')
	for _, p := range u.Params {
		b.WriteString(`<e k="`)
		writeURIComponent(&b, p.Key)
		b.WriteString(`" v="`)
		writeURIComponent(&b, p.Value)
		b.WriteString(`"/>`)
	}
	b.WriteString("</")
	b.WriteString(u.Op)
	b.WriteByte('>')
	return []byte(b.String())
}
