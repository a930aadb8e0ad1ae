// Package b64 implements the Base64 flavours of the Cliente @firma wire protocol.
//
// Java clients emit padded URL-safe Base64 for most values and padded standard Base64 for a
// few; the reference decoders accept one alphabet each and silently drop a trailing partial
// quartet. This package decodes leniently (either alphabet, padded or not, ASCII whitespace
// ignored) and never loses bytes of unpadded input, and it encodes exactly as the reference does.
package b64

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// ErrInvalid reports input that is not Base64 in either alphabet.
var ErrInvalid = errors.New("b64: invalid Base64 input")

var (
	rawStd = base64.RawStdEncoding
	rawURL = base64.RawURLEncoding
)

// EncodeURL returns padded URL-safe Base64 (the reference's encode(x, true)).
func EncodeURL(b []byte) string { return base64.URLEncoding.EncodeToString(b) }

// EncodeStd returns padded standard Base64 (the reference's encode(x)).
func EncodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// DecodeString decodes s leniently; see Decode.
func DecodeString(s string) ([]byte, error) {
	buf := []byte(s)
	n, err := DecodeInPlace(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n:n], nil
}

// Decode decodes src leniently into a new slice; src is not modified.
func Decode(src []byte) ([]byte, error) {
	buf := append([]byte(nil), src...)
	n, err := DecodeInPlace(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n:n], nil
}

// DecodeInPlace decodes buf leniently and writes the result over its own prefix, returning the
// decoded length. It accepts the standard and URL-safe alphabets (mixed), optional '=' padding
// and ASCII whitespace anywhere. Decoding works in place because the output never overtakes the
// input. On error the contents of buf are unspecified.
func DecodeInPlace(buf []byte) (int, error) {
	// Fast path, the common case on the wire: no white space and a single alphabet. The scans
	// below use the vectorised bytes.IndexByte.
	if !hasAny(buf, ' ', '\t', '\r', '\n') {
		data := buf
		pad := 0
		for len(data) > 0 && data[len(data)-1] == '=' && pad < 3 {
			data = data[:len(data)-1]
			pad++
		}
		url := hasAny(data, '-', '_')
		std := hasAny(data, '+', '/')
		if !(url && std) && bytes.IndexByte(data, '=') < 0 {
			if pad > 2 || (pad > 0 && (len(data)+pad)%4 != 0) || len(data)%4 == 1 {
				return 0, ErrInvalid
			}
			enc := rawStd
			if url {
				enc = rawURL
			}
			return decodeChunks(enc, buf, data)
		}
	}
	// General path: normalise the alphabet, drop white space, strip padding.
	w := 0
	pad := 0
	for _, c := range buf {
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		case c == '=':
			pad++
			continue
		case c == '-':
			c = '+'
		case c == '_':
			c = '/'
		}
		if pad > 0 {
			// data after padding
			return 0, ErrInvalid
		}
		buf[w] = c
		w++
	}
	if pad > 2 || (pad > 0 && (w+pad)%4 != 0) {
		return 0, ErrInvalid
	}
	if w%4 == 1 {
		return 0, ErrInvalid
	}
	return decodeChunks(rawStd, buf, buf[:w])
}

// decodeChunks decodes src (a prefix of buf, unpadded) into buf from the front, through a
// small temporary so the output never overwrites input not yet read.
func decodeChunks(enc *base64.Encoding, buf, src []byte) (int, error) {
	var tmp [3072]byte
	out := 0
	for in := 0; in < len(src); {
		end := min(in+4096, len(src))
		n, err := enc.Decode(tmp[:], src[in:end])
		if err != nil {
			return 0, ErrInvalid
		}
		copy(buf[out:], tmp[:n])
		out += n
		in = end
	}
	return out, nil
}

func hasAny(b []byte, cs ...byte) bool {
	for _, c := range cs {
		if bytes.IndexByte(b, c) >= 0 {
			return true
		}
	}
	return false
}
