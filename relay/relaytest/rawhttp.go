package relaytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"
)

// rawConn is a minimal keep-alive HTTP/1.1 client for the load generator: one connection, one
// request at a time, POST with a form body, responses with Content-Length. It keeps the client's
// share of the CPU small so that the measurement is about the server.
type rawConn struct {
	addr, path, host string
	c                net.Conn
	br               *bufio.Reader
	req              []byte
}

func newRawConn(rawURL string) (*rawConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("raw client: only http, got %q", u.Scheme)
	}
	path := u.RequestURI()
	return &rawConn{addr: u.Host, host: u.Host, path: path}, nil
}

func (rc *rawConn) close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c = nil
	}
}

// post sends body and returns the response body appended to dst[:0] and the status code.
func (rc *rawConn) post(body, dst []byte) ([]byte, int, error) {
	for attempt := 0; ; attempt++ {
		if rc.c == nil {
			c, err := net.DialTimeout("tcp", rc.addr, 5*time.Second)
			if err != nil {
				return dst, 0, err
			}
			rc.c = c
			rc.br = bufio.NewReaderSize(c, 8<<10)
		}
		out, code, err := rc.roundTrip(body, dst)
		if err == nil {
			return out, code, nil
		}
		rc.close()
		if attempt > 0 {
			return dst, 0, err
		}
	}
}

func (rc *rawConn) roundTrip(body, dst []byte) ([]byte, int, error) {
	rc.req = append(rc.req[:0], "POST "...)
	rc.req = append(rc.req, rc.path...)
	rc.req = append(rc.req, " HTTP/1.1\r\nHost: "...)
	rc.req = append(rc.req, rc.host...)
	rc.req = append(rc.req, "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: "...)
	rc.req = strconv.AppendInt(rc.req, int64(len(body)), 10)
	rc.req = append(rc.req, "\r\n\r\n"...)
	rc.req = append(rc.req, body...)
	_ = rc.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := rc.c.Write(rc.req); err != nil {
		return dst, 0, err
	}
	line, err := rc.br.ReadSlice('\n')
	if err != nil {
		return dst, 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return dst, 0, fmt.Errorf("raw client: bad status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return dst, 0, fmt.Errorf("raw client: bad status line %q", line)
	}
	clen := -1
	closeAfter := false
	for {
		h, err := rc.br.ReadSlice('\n')
		if err != nil {
			return dst, 0, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if clen, err = strconv.Atoi(string(v)); err != nil {
				return dst, 0, fmt.Errorf("raw client: bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			return dst, 0, errors.New("raw client: chunked responses are not supported")
		case bytes.EqualFold(k, []byte("Connection")) && bytes.EqualFold(v, []byte("close")):
			closeAfter = true
		}
	}
	if clen < 0 {
		return dst, 0, errors.New("raw client: response without Content-Length")
	}
	dst = dst[:0]
	for clen > 0 {
		n := min(clen, rc.br.Buffered())
		if n == 0 {
			if _, err := rc.br.Peek(1); err != nil {
				return dst, 0, err
			}
			continue
		}
		b, _ := rc.br.Peek(n)
		dst = append(dst, b...)
		_, _ = rc.br.Discard(n)
		clen -= n
	}
	if closeAfter {
		rc.close()
	}
	return dst, code, nil
}
