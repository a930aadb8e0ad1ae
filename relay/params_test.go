package relay

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// chunkReader returns its data in chunks of the given sizes (cycling), to exercise the streaming
// parser across every boundary.
type chunkReader struct {
	data  []byte
	sizes []byte
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(r.sizes) > 0 {
		n = int(r.sizes[r.i%len(r.sizes)]) + 1
		r.i++
	}
	n = min(n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// modelRawForm is the reference algorithm written plainly: split on '&', first '=', a table
// where the last occurrence wins, dat URL-decoded.
func modelRawForm(body string, maxDat int64) params {
	m := map[string]string{}
	for _, part := range strings.Split(body, "&") {
		if i := strings.IndexByte(part, '='); i >= 0 {
			m[part[:i]] = part[i+1:]
		}
	}
	var p params
	if v, ok := m["op"]; ok {
		p.op, p.hasOp = truncate(v), true
	}
	if v, ok := m["v"]; ok {
		p.v, p.hasV = truncate(v), true
	}
	if v, ok := m["id"]; ok {
		p.id, p.hasID, p.idTooLong = truncate(v), true, len(v) > maxSmallValue
	}
	if v, ok := m["dat"]; ok {
		p.hasDat = true
		d, err := formUnescape(v)
		switch {
		case err != nil:
			p.datMalformed = true
		case int64(len(d)) > maxDat:
			p.datTooLarge = true
		default:
			p.dat = []byte(d)
		}
	}
	return p
}

func sameParams(a, b params) bool {
	return a.op == b.op && a.v == b.v && a.id == b.id && a.hasOp == b.hasOp && a.hasV == b.hasV &&
		a.hasID == b.hasID && a.idTooLong == b.idTooLong && a.hasDat == b.hasDat &&
		a.datMalformed == b.datMalformed && a.datTooLarge == b.datTooLarge && bytes.Equal(a.dat, b.dat)
}

// FuzzRawForm checks the streaming StorageService body parser against the plain model for every
// body and chunking.
func FuzzRawForm(f *testing.F) {
	f.Add([]byte("op=put&v=1_0&id=abc&dat=6.KSCk4xRsiiul5vrlTW0tQw=="), []byte{3, 0, 7})
	f.Add([]byte("dat=a%2Bb+c&op=put&op=PUT&v=&id=x&id=y&it=1&junk&=&&"), []byte{0})
	f.Add([]byte("op=put&v=1_0&id=abc&dat=%4"), []byte{1})
	f.Add([]byte("op=put&v=1_0&id=abc&dat=%zz%41"), []byte{2})
	f.Add([]byte("dat=0123456789abcdefXY&id=z"), []byte{5})
	f.Fuzz(func(t *testing.T, body, sizes []byte) {
		const maxDat = 16
		var got params
		if err := parseRawForm(&got, &chunkReader{data: body, sizes: sizes}, maxDat, 1<<20, -1); err != nil {
			t.Fatal(err)
		}
		want := modelRawForm(string(body), maxDat)
		if !sameParams(got, want) {
			t.Fatalf("body %q:\n got %+v\nwant %+v", body, got, want)
		}
	})
}

// modelServletForm decodes every pair and keeps the first occurrence.
func modelServletForm(s string) params {
	var p params
	for _, pair := range strings.Split(s, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := formUnescape(k)
		val, err2 := formUnescape(v)
		if err1 != nil || err2 != nil || len(k) > maxKeyLen*3 {
			continue
		}
		switch {
		case key == "op" && !p.hasOp:
			p.op, p.hasOp = truncate(val), true
		case key == "v" && !p.hasV:
			p.v, p.hasV = truncate(val), true
		case key == "id" && !p.hasID:
			p.id, p.hasID, p.idTooLong = val, true, len(val) > maxSmallValue
		case key == "dat" && !p.hasDat:
			p.dat, p.hasDat = []byte(val), true
		}
	}
	return p
}

// FuzzServletForm checks the query/form parser used for GET and for RetrieveService.
func FuzzServletForm(f *testing.F) {
	f.Add("op=get&v=1_0&id=abc&it=0")
	f.Add("op=put&v=1_0&id=g&dat=a%252Bb%2B&op=x")
	f.Add("o%70=get&%76=1&id=%zz&id=ok&dat")
	f.Fuzz(func(t *testing.T, q string) {
		var got params
		parseServletForm(&got, q, true)
		if want := modelServletForm(q); !sameParams(got, want) {
			t.Fatalf("query %q:\n got %+v\nwant %+v", q, got, want)
		}
	})
}

func TestRawFormLimit(t *testing.T) {
	body := "op=put&v=1_0&id=abc&dat=" + strings.Repeat("A", 100) + "&id=late"
	var p params
	if err := parseRawForm(&p, strings.NewReader(body), 1000, 50, int64(len(body))); err != nil {
		t.Fatal(err)
	}
	if !p.datTooLarge || p.id != "abc" {
		t.Fatalf("cut body: %+v", p)
	}
}
