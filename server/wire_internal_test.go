package server

import (
	"strings"
	"testing"
)

func TestReadPooledBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		cl     int64
		limit  int64
		pooled bool
		ok     bool
	}{
		{"exact", "op=pre&doc=AAAA", 15, 1 << 20, true, true},
		{"shorter", "op=pre", 15, 1 << 20, true, false},
		{"longer", "op=pre&doc=AAAAAAAA", 15, 1 << 20, true, false},
		{"unknown-length", "op=pre", -1, 1 << 20, false, true},
		{"over-limit", strings.Repeat("a", 100), 100, 50, false, false},
		{"large", strings.Repeat("a", maxPooledBody+1), maxPooledBody + 1, 1 << 20, false, true},
	} {
		body, buf, err := readPooledBody(strings.NewReader(tc.body), tc.cl, tc.limit)
		if (err == nil) != tc.ok || (buf != nil) != (tc.pooled && tc.ok) {
			t.Errorf("%s: err %v, pooled %v", tc.name, err, buf != nil)
			continue
		}
		if tc.ok && string(body) != tc.body {
			t.Errorf("%s: body %q", tc.name, body)
		}
		if buf != nil {
			smallBodies.Put(buf)
		}
	}
}
