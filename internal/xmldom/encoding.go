package xmldom

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Canonical encoding names.
const (
	EncUTF8        = "UTF-8"
	EncASCII       = "US-ASCII"
	EncLatin1      = "ISO-8859-1"
	EncLatin9      = "ISO-8859-15"
	EncWindows1252 = "windows-1252"
	EncUTF16LE     = "UTF-16LE"
	EncUTF16BE     = "UTF-16BE"
)

// CanonicalEncoding maps an encoding label (as in an XML declaration, any case) to its
// canonical name, or "" when it is not supported.
func CanonicalEncoding(label string) string {
	switch strings.ToUpper(strings.TrimSpace(label)) {
	case "UTF-8", "UTF8":
		return EncUTF8
	case "US-ASCII", "ASCII", "ANSI_X3.4-1968", "US", "ISO646-US":
		return EncASCII
	case "ISO-8859-1", "ISO8859-1", "ISO_8859-1", "LATIN1", "LATIN-1", "L1", "ISO-IR-100", "CP819", "IBM819":
		return EncLatin1
	case "ISO-8859-15", "ISO8859-15", "ISO_8859-15", "LATIN-9", "LATIN9", "L9":
		return EncLatin9
	case "WINDOWS-1252", "CP1252", "X-CP1252":
		return EncWindows1252
	case "UTF-16", "UTF16":
		return "UTF-16"
	case "UTF-16LE":
		return EncUTF16LE
	case "UTF-16BE":
		return EncUTF16BE
	}
	return ""
}

// windows-1252 bytes 0x80..0x9F (0 = undefined).
var cp1252High = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

// ISO-8859-15 differs from ISO-8859-1 in eight positions.
var latin9Diff = map[byte]rune{0xA4: 0x20AC, 0xA6: 0x0160, 0xA8: 0x0161, 0xB4: 0x017D, 0xB8: 0x017E, 0xBC: 0x0152, 0xBD: 0x0153, 0xBE: 0x0178}

// decode returns the UTF-8 text of data (BOM removed), its encoding and whether a BOM was
// present.
func decode(data []byte) (src, enc string, bom bool, err error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return checkUTF8(data[3:], true)
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		s, err := decodeUTF16(data[2:], false)
		return s, EncUTF16LE, true, err
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		s, err := decodeUTF16(data[2:], true)
		return s, EncUTF16BE, true, err
	case bytes.HasPrefix(data, []byte{0x3C, 0x00, 0x3F, 0x00}):
		s, err := decodeUTF16(data, false)
		return s, EncUTF16LE, false, err
	case bytes.HasPrefix(data, []byte{0x00, 0x3C, 0x00, 0x3F}):
		s, err := decodeUTF16(data, true)
		return s, EncUTF16BE, false, err
	}
	label := declaredEncoding(data)
	if label == "" {
		return checkUTF8(data, false)
	}
	switch CanonicalEncoding(label) {
	case EncUTF8:
		return checkUTF8(data, false)
	case EncASCII:
		for i, c := range data {
			if c >= 0x80 {
				return "", "", false, fmt.Errorf("byte 0x%02X at offset %d is not US-ASCII", c, i)
			}
		}
		return string(data), EncASCII, false, nil
	case EncLatin1:
		return decode8bit(data, EncLatin1, func(c byte) rune { return rune(c) })
	case EncLatin9:
		return decode8bit(data, EncLatin9, func(c byte) rune {
			if r, ok := latin9Diff[c]; ok {
				return r
			}
			return rune(c)
		})
	case EncWindows1252:
		return decode8bit(data, EncWindows1252, func(c byte) rune {
			if c >= 0x80 && c < 0xA0 {
				return cp1252High[c-0x80]
			}
			return rune(c)
		})
	case "UTF-16", EncUTF16LE, EncUTF16BE:
		return "", "", false, fmt.Errorf("encoding %q declared but the document is not UTF-16", label)
	}
	return "", "", false, fmt.Errorf("unsupported encoding %q", label)
}

func checkUTF8(b []byte, bom bool) (string, string, bool, error) {
	if !utf8.Valid(b) {
		i := 0
		for i < len(b) {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return "", "", false, fmt.Errorf("invalid UTF-8 at offset %d", i)
	}
	return string(b), EncUTF8, bom, nil
}

func decode8bit(data []byte, enc string, m func(byte) rune) (string, string, bool, error) {
	ascii := true
	for _, c := range data {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(data), enc, false, nil
	}
	var sb strings.Builder
	sb.Grow(len(data) + len(data)/8)
	for i, c := range data {
		if c < 0x80 {
			sb.WriteByte(c)
			continue
		}
		r := m(c)
		if r == 0 {
			return "", "", false, fmt.Errorf("byte 0x%02X at offset %d is undefined in %s", c, i, enc)
		}
		sb.WriteRune(r)
	}
	return sb.String(), enc, false, nil
}

func decodeUTF16(b []byte, be bool) (string, error) {
	if len(b)%2 != 0 {
		return "", fmt.Errorf("UTF-16 input has an odd number of bytes")
	}
	var sb strings.Builder
	sb.Grow(len(b) / 2)
	for i := 0; i < len(b); i += 2 {
		var u uint16
		if be {
			u = uint16(b[i])<<8 | uint16(b[i+1])
		} else {
			u = uint16(b[i+1])<<8 | uint16(b[i])
		}
		r := rune(u)
		if utf16.IsSurrogate(r) {
			if u >= 0xDC00 || i+3 >= len(b) {
				return "", fmt.Errorf("unpaired UTF-16 surrogate at offset %d", i)
			}
			var u2 uint16
			if be {
				u2 = uint16(b[i+2])<<8 | uint16(b[i+3])
			} else {
				u2 = uint16(b[i+3])<<8 | uint16(b[i+2])
			}
			r = utf16.DecodeRune(r, rune(u2))
			if r == utf8.RuneError {
				return "", fmt.Errorf("unpaired UTF-16 surrogate at offset %d", i)
			}
			i += 2
		}
		sb.WriteRune(r)
	}
	return sb.String(), nil
}

// declaredEncoding returns the encoding pseudo-attribute of an 8-bit XML declaration.
func declaredEncoding(b []byte) string {
	if !bytes.HasPrefix(b, []byte("<?xml")) || len(b) < 6 || !isSpaceByte(b[5]) {
		return ""
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 || end > 512 {
		return ""
	}
	decl := b[5:end]
	i := bytes.Index(decl, []byte("encoding"))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	j := bytes.IndexByte(rest[1:], q)
	if j < 0 {
		return ""
	}
	return string(rest[1 : 1+j])
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Encode converts UTF-8 text (typically Source with content spliced in) to the document's
// encoding, restoring the byte order mark if the input had one. Characters the encoding
// cannot represent are written as character references, which is only valid inside text
// and attribute values: callers must only splice such characters there.
func (d *Document) Encode(text []byte) []byte {
	return EncodeText(text, d.Encoding, d.BOM)
}

// EncodeText converts UTF-8 text to enc (a canonical name), optionally with a BOM. See
// [Document.Encode].
func EncodeText(text []byte, enc string, bom bool) []byte {
	switch enc {
	case EncUTF8, "":
		if bom {
			return append([]byte{0xEF, 0xBB, 0xBF}, text...)
		}
		return text
	case EncUTF16LE, EncUTF16BE:
		be := enc == EncUTF16BE
		out := make([]byte, 0, 2*len(text)+2)
		put := func(u uint16) {
			if be {
				out = append(out, byte(u>>8), byte(u))
			} else {
				out = append(out, byte(u), byte(u>>8))
			}
		}
		if bom {
			put(0xFEFF)
		}
		for _, r := range string(text) {
			if r >= 0x10000 {
				r1, r2 := utf16.EncodeRune(r)
				put(uint16(r1))
				put(uint16(r2))
			} else {
				put(uint16(r))
			}
		}
		return out
	}
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); {
		c := text[i]
		if c < 0x80 {
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(text[i:])
		i += n
		if b, ok := encode8bit(r, enc); ok {
			out = append(out, b)
			continue
		}
		out = fmt.Appendf(out, "&#x%X;", r)
	}
	return out
}

func encode8bit(r rune, enc string) (byte, bool) {
	switch enc {
	case EncLatin1:
		return byte(r), r < 0x100
	case EncLatin9:
		for b, x := range latin9Diff {
			if x == r {
				return b, true
			}
		}
		if _, clash := latin9Diff[byte(r)]; r < 0x100 && !clash {
			return byte(r), true
		}
	case EncWindows1252:
		for i, x := range cp1252High {
			if x == r && x != 0 {
				return byte(0x80 + i), true
			}
		}
		if r < 0x100 && (r < 0x80 || r >= 0xA0) {
			return byte(r), true
		}
	}
	return 0, false
}

// DecodeAs decodes data that is known to be in enc (a canonical name, as returned in
// [Document.Encoding]), removing a byte order mark.
func DecodeAs(data []byte, enc string) (string, error) {
	var s string
	var err error
	switch enc {
	case EncUTF8, "":
		data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
		s, _, _, err = checkUTF8(data, false)
	case EncUTF16LE, EncUTF16BE:
		be := enc == EncUTF16BE
		if be {
			data = bytes.TrimPrefix(data, []byte{0xFE, 0xFF})
		} else {
			data = bytes.TrimPrefix(data, []byte{0xFF, 0xFE})
		}
		s, err = decodeUTF16(data, be)
	case EncASCII:
		for i, c := range data {
			if c >= 0x80 {
				return "", fmt.Errorf("byte 0x%02X at offset %d is not US-ASCII", c, i)
			}
		}
		s = string(data)
	case EncLatin1, EncLatin9, EncWindows1252:
		// Reuse the declaration-driven decoder with a synthetic label.
		switch enc {
		case EncLatin1:
			s, _, _, err = decode8bit(data, enc, func(c byte) rune { return rune(c) })
		case EncLatin9:
			s, _, _, err = decode8bit(data, enc, func(c byte) rune {
				if r, ok := latin9Diff[c]; ok {
					return r
				}
				return rune(c)
			})
		default:
			s, _, _, err = decode8bit(data, enc, func(c byte) rune {
				if c >= 0x80 && c < 0xA0 {
					return cp1252High[c-0x80]
				}
				return rune(c)
			})
		}
	default:
		return "", fmt.Errorf("unsupported encoding %q", enc)
	}
	return s, err
}
