package server

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// ErrBodyTooLarge reports a request body over the configured cap.
var ErrBodyTooLarge = errors.New("server: request body exceeds the configured limit")

// ReadBody reads the whole body as one string (one allocation when the length is known),
// refusing more than limit bytes.
func ReadBody(r io.Reader, contentLength, limit int64) (string, error) {
	var b strings.Builder
	if contentLength > 0 && contentLength <= limit {
		b.Grow(int(contentLength))
	}
	n, err := io.Copy(&b, io.LimitReader(r, limit+1))
	if err != nil {
		return "", err
	}
	if n > limit {
		return "", fmt.Errorf("%w (%d bytes)", ErrBodyTooLarge, limit)
	}
	return b.String(), nil
}

// ParseForm splits a body the way the reference SignatureService does: on '&', each pair on its
// first '='; pairs without '=' are ignored; keys are taken verbatim; values go through Java's
// URLDecoder (so '+' is a space and %XX is decoded). Values that need no decoding are substrings
// of body (no copy). The last occurrence of a key wins, as with the reference's HashMap.
func ParseForm(body string) (map[string]string, error) {
	m := make(map[string]string, 8)
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			dv, err := javaURLDecode(v)
			if err != nil {
				return nil, fmt.Errorf("server: parameter %q: %w", k, err)
			}
			v = dv
		}
		m[k] = v
	}
	return m, nil
}

// javaURLDecode is URLDecoder.decode(s, UTF-8): '+' is a space, %XX sequences are bytes.
func javaURLDecode(s string) (string, error) {
	return url.QueryUnescape(s)
}

// base64Field undoes the one loss of the Java transport for Base64 values: a standard-alphabet
// '+' that arrived unencoded and was URL-decoded into a space. Base64 never contains spaces, so
// turning them back is always right (the reference would silently drop them and corrupt data).
func base64Field(v string) string {
	if strings.IndexByte(v, ' ') < 0 {
		return v
	}
	return strings.ReplaceAll(v, " ", "+")
}
