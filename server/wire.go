package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
)

// ErrBodyTooLarge reports a request body over the configured cap.
var ErrBodyTooLarge = errors.New("server: request body exceeds the configured limit")

// smallBodies recycles the buffers of request bodies of known length up to
// maxPooledBody bytes (a signature request of a small document: most of the traffic).
var smallBodies = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxPooledBody = 64 << 10

// readPooledBody is ReadBody into a recycled buffer when the length is known and small; the
// caller returns buf (when non-nil) to smallBodies once nothing refers to the body any more.
func readPooledBody(r io.Reader, contentLength, limit int64) (body []byte, buf *[]byte, err error) {
	if contentLength <= 0 || contentLength > limit || contentLength > maxPooledBody {
		body, err = ReadBody(r, contentLength, limit)
		return body, nil, err
	}
	buf = smallBodies.Get().(*[]byte)
	n := int(contentLength)
	if cap(*buf) < n+1 {
		*buf = make([]byte, 0, max(n+1, 16<<10))
	}
	b := (*buf)[:n+1]
	k, err := io.ReadFull(r, b)
	switch {
	case err == io.ErrUnexpectedEOF && k == n:
		// exactly the announced length
	case err == nil:
		// More than announced: the HTTP server does not let that happen; refuse it anyway.
		smallBodies.Put(buf)
		return nil, nil, fmt.Errorf("server: request body longer than its Content-Length")
	default:
		smallBodies.Put(buf)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("server: request body shorter than its Content-Length: %w", io.ErrUnexpectedEOF)
		}
		return nil, nil, err
	}
	return b[:n], buf, nil
}

// ReadBody reads the whole body into one buffer (one allocation when the length is known),
// refusing more than limit bytes.
func ReadBody(r io.Reader, contentLength, limit int64) ([]byte, error) {
	var b bytes.Buffer
	if contentLength > 0 && contentLength <= limit {
		b.Grow(int(contentLength) + bytes.MinRead)
	}
	n, err := b.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("%w (%d bytes)", ErrBodyTooLarge, limit)
	}
	return b.Bytes(), nil
}

// ParseForm splits a body the way the reference SignatureService does: on '&', each pair on its
// first '='; pairs without '=' are ignored; keys are taken verbatim; values go through Java's
// URLDecoder (so '+' is a space and %XX is decoded). Values that need no decoding are sub-slices
// of body (no copy), so a large document can later be decoded in place. The last occurrence of
// a key wins, as with the reference's HashMap.
func ParseForm(body []byte) (map[string][]byte, error) {
	m := make(map[string][]byte, 8)
	for len(body) > 0 {
		var pair []byte
		pair, body, _ = bytes.Cut(body, []byte("&"))
		k, v, ok := bytes.Cut(pair, []byte("="))
		if !ok {
			continue
		}
		if bytes.IndexByte(v, '%') >= 0 || bytes.IndexByte(v, '+') >= 0 {
			dv, err := javaURLDecode(string(v))
			if err != nil {
				return nil, fmt.Errorf("server: parameter %q: %w", k, err)
			}
			v = []byte(dv)
		}
		m[string(k)] = v
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

// base64FieldInPlace is base64Field over a buffer the caller owns.
func base64FieldInPlace(v []byte) {
	for i := bytes.IndexByte(v, ' '); i >= 0; i = bytes.IndexByte(v, ' ') {
		v[i] = '+'
		v = v[i+1:]
	}
}
