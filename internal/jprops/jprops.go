// Package jprops reads and writes Java ".properties" text, the format of the @firma protocol's
// extraParams, batch extraparams and signsaver config blobs.
//
// Parse implements java.util.Properties.load(Reader): '#' and '!' comments, '=', ':' or white
// space as separator, backslash escapes including \uXXXX, and line continuation with a trailing
// backslash. Format writes what java.util.Properties.store(Writer, ...) writes, minus the date
// comment, with keys sorted so the output is deterministic.
package jprops

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// ErrSyntax reports malformed properties text (a bad \uXXXX escape or invalid UTF-8).
var ErrSyntax = errors.New("jprops: malformed properties text")

// MaxLen bounds the text Parse accepts (16 MiB), so a hostile blob cannot exhaust memory.
const MaxLen = 16 << 20

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// Parse parses properties text. Later duplicates of a key replace earlier ones, as in Java.
func Parse(text string) (map[string]string, error) {
	if len(text) > MaxLen {
		return nil, fmt.Errorf("%w: %d bytes exceeds the %d-byte limit", ErrSyntax, len(text), MaxLen)
	}
	if !utf8.ValidString(text) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrSyntax)
	}
	// A leading BOM is not part of the first key.
	text = strings.TrimPrefix(text, "\uFEFF")
	out := make(map[string]string)
	i := 0
	n := len(text)
	for i < n {
		// Start of a natural line: skip leading white space.
		for i < n && isWS(text[i]) {
			i++
		}
		if i >= n {
			break
		}
		c := text[i]
		if c == '\n' || c == '\r' {
			i++
			continue
		}
		if c == '#' || c == '!' {
			for i < n && text[i] != '\n' && text[i] != '\r' {
				i++
			}
			continue
		}
		// Collect the logical line (joining continuations), keeping escapes for now.
		var line strings.Builder
		for {
			start := i
			for i < n && text[i] != '\n' && text[i] != '\r' {
				i++
			}
			seg := text[start:i]
			// Count trailing backslashes.
			bs := 0
			for j := len(seg) - 1; j >= 0 && seg[j] == '\\'; j-- {
				bs++
			}
			if bs%2 == 1 {
				line.WriteString(seg[:len(seg)-1])
				// consume the line terminator
				if i < n && text[i] == '\r' {
					i++
				}
				if i < n && text[i] == '\n' {
					i++
				}
				if i >= n {
					break
				}
				// skip leading white space of the continuation line
				for i < n && isWS(text[i]) {
					i++
				}
				continue
			}
			line.WriteString(seg)
			break
		}
		k, v, err := splitLine(line.String())
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// splitLine splits a logical line (escapes still present) into its unescaped key and value.
func splitLine(s string) (string, string, error) {
	// Find the end of the key: the first unescaped '=', ':' or white space.
	keyEnd := len(s)
	valStart := len(s)
	hasSep := false
	for j := 0; j < len(s); j++ {
		c := s[j]
		if c == '\\' {
			j++
			continue
		}
		if c == '=' || c == ':' {
			keyEnd = j
			valStart = j + 1
			hasSep = true
			break
		}
		if isWS(c) {
			keyEnd = j
			valStart = j + 1
			break
		}
	}
	// Skip white space, then at most one '=' or ':' if the key ended on white space.
	for valStart < len(s) && isWS(s[valStart]) {
		valStart++
	}
	if !hasSep && valStart < len(s) && (s[valStart] == '=' || s[valStart] == ':') {
		valStart++
		for valStart < len(s) && isWS(s[valStart]) {
			valStart++
		}
	}
	if keyEnd > len(s) {
		keyEnd = len(s)
	}
	key, err := unescape(s[:keyEnd])
	if err != nil {
		return "", "", err
	}
	val := ""
	if valStart < len(s) {
		val, err = unescape(s[valStart:])
		if err != nil {
			return "", "", err
		}
	}
	return key, val, nil
}

func unescape(s string) (string, error) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for j := 0; j < len(s); j++ {
		c := s[j]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		j++
		if j >= len(s) {
			// A lone trailing backslash (only possible at the very end of input) is dropped,
			// as Java does.
			break
		}
		switch c = s[j]; c {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if j+4 >= len(s) {
				return "", fmt.Errorf("%w: truncated \\u escape", ErrSyntax)
			}
			r, ok := hex4(s[j+1 : j+5])
			if !ok {
				return "", fmt.Errorf("%w: malformed \\uxxxx encoding", ErrSyntax)
			}
			j += 4
			// Combine UTF-16 surrogate pairs written as two escapes.
			if r >= 0xD800 && r < 0xDC00 && j+6 < len(s) && s[j+1] == '\\' && s[j+2] == 'u' {
				if lo, ok := hex4(s[j+3 : j+7]); ok && lo >= 0xDC00 && lo < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					j += 6
				}
			}
			b.WriteRune(r)
		default:
			// Any other escaped character (including a multi-byte UTF-8 one) stands for itself.
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func hex4(s string) (rune, bool) {
	if len(s) != 4 {
		return 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		h := s[i]
		var d byte
		switch {
		case h >= '0' && h <= '9':
			d = h - '0'
		case h >= 'a' && h <= 'f':
			d = h - 'a' + 10
		case h >= 'A' && h <= 'F':
			d = h - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// Format writes m as properties text the way Properties.store(Writer, comment) does (non-ASCII
// written literally), keys sorted, without the date line. A non-empty comment is written as the
// first line.
func Format(m map[string]string, comment string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	if comment != "" {
		b.WriteString("#")
		b.WriteString(strings.NewReplacer("\r\n", "\n#", "\n", "\n#", "\r", "\n#").Replace(comment))
		b.WriteString("\n")
	}
	for _, k := range keys {
		escape(&b, k, true)
		b.WriteByte('=')
		escape(&b, m[k], false)
		b.WriteByte('\n')
	}
	return b.String()
}

func escape(b *strings.Builder, s string, isKey bool) {
	for i, r := range s {
		switch r {
		case ' ':
			if i == 0 || isKey {
				b.WriteString(`\ `)
			} else {
				b.WriteByte(' ')
			}
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\f':
			b.WriteString(`\f`)
		case '=', ':', '#', '!', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
}
