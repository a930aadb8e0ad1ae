package relay

import (
	"bufio"
	"io"
	"strings"
	"sync"
)

// params holds the parameters the two services look at. Absent and empty are different: the
// reference tests for null first.
type params struct {
	op, v, id          string
	hasOp, hasV, hasID bool
	idTooLong          bool // id longer than maxSmallValue: rejected as invalid
	dat                []byte
	hasDat             bool
	datTooLarge        bool // decoded dat exceeds the size cap
	datMalformed       bool // bad percent-escape in dat
}

const (
	maxKeyLen     = 64   // longer keys are ignored: no parameter of interest is that long
	maxSmallValue = 1024 // op, v and id values kept; longer ids are invalid, longer op unsupported
	maxFormBody   = 64 << 10
)

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// formUnescape decodes application/x-www-form-urlencoded text ('+' is a space, %XX a byte), as
// the servlet API and java.net.URLDecoder do. It returns s itself when nothing needs decoding.
func formUnescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) {
				return "", errMalformed
			}
			h, ok1 := unhex(s[i+1])
			l, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", errMalformed
			}
			b = append(b, h<<4|l)
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

// formUnescapeBytes decodes b in place (the output never outgrows the input) and returns the
// decoded prefix.
func formUnescapeBytes(b []byte) ([]byte, error) {
	w := 0
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '+':
			b[w] = ' '
		case '%':
			if i+2 >= len(b) {
				return nil, errMalformed
			}
			h, ok1 := unhex(b[i+1])
			l, ok2 := unhex(b[i+2])
			if !ok1 || !ok2 {
				return nil, errMalformed
			}
			b[w] = h<<4 | l
			i += 2
		default:
			b[w] = c
		}
		w++
	}
	return b[:w], nil
}

// parseServletForm adds the pairs of an encoded form (a query string or a form body) to p the
// way HttpServletRequest.getParameter sees them: keys and values are decoded, the first
// occurrence of a key wins (and earlier sources win over later ones), pairs whose escapes are
// malformed are skipped, and a pair without '=' is a key with an empty value. Only op, v, id and,
// when wantDat, dat are kept; dat is kept in its servlet-decoded form.
func parseServletForm(p *params, s string, wantDat bool) {
	for len(s) > 0 {
		var pair string
		if i := strings.IndexByte(s, '&'); i >= 0 {
			pair, s = s[:i], s[i+1:]
		} else {
			pair, s = s, ""
		}
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if len(k) > maxKeyLen*3 {
			continue
		}
		key, err := formUnescape(k)
		if err != nil {
			continue
		}
		switch key {
		case "op":
			if p.hasOp {
				continue
			}
		case "v":
			if p.hasV {
				continue
			}
		case "id":
			if p.hasID {
				continue
			}
		case "dat":
			if !wantDat || p.hasDat {
				continue
			}
		default:
			continue
		}
		val, err := formUnescape(v)
		if err != nil {
			continue
		}
		switch key {
		case "op":
			p.op, p.hasOp = truncate(val), true
		case "v":
			p.v, p.hasV = truncate(val), true
		case "id":
			p.id, p.hasID = val, true
			p.idTooLong = len(val) > maxSmallValue
		case "dat":
			p.dat, p.hasDat = []byte(val), true
		}
	}
}

func truncate(s string) string {
	if len(s) > maxSmallValue {
		return s[:maxSmallValue]
	}
	return s
}

// rawFormParser reads a StorageService body the way the reference does for every method but GET:
// the body is split on '&' and each pair on its first '=', keys and op/v/id values are NOT
// decoded, the last occurrence of a key wins, pairs without '=' are ignored, and dat is decoded
// once with java.net.URLDecoder semantics. It streams: dat is decoded as it arrives and is kept
// only up to maxDat bytes, other values up to maxSmallValue bytes, and at most limit body bytes
// are read, so memory stays bounded whatever the client sends.
type rawFormParser struct {
	p      *params
	maxDat int64
	key    []byte
	val    []byte // op, v, id value being read
	inVal  bool
	field  int // fieldOther, fieldOp, ...
	keyBad bool

	// dat decoding state
	pct    int  // 0: normal; 1: after '%'; 2: after '%' and one hex digit
	hi     byte // first hex digit
	datBuf []byte
	datBad bool
	datBig bool
}

const (
	fieldOther = iota
	fieldOp
	fieldV
	fieldID
	fieldDat
)

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

// parseRawForm fills p from body. sizeHint (the Content-Length, or -1) presizes the dat buffer,
// up to 1 MiB so that a client announcing a large body it never sends cannot reserve memory.
// It returns the error of the underlying reader, if any, other than io.EOF; a body longer than
// limit is cut and the field being read at that point is treated as oversized when it is dat.
func parseRawForm(p *params, body io.Reader, maxDat, limit, sizeHint int64) error {
	rp := rawFormParser{p: p, maxDat: maxDat}
	if sizeHint > 0 {
		n := min(sizeHint, maxDat+1, 1<<20)
		rp.datBuf = make([]byte, 0, n)
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(io.LimitReader(body, limit+1))
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
	}()
	var total int64
	var rerr error
	for {
		chunk, _ := br.Peek(br.Buffered())
		if len(chunk) == 0 {
			if _, err := br.Peek(1); err != nil {
				if err != io.EOF {
					rerr = err
				}
				break
			}
			continue
		}
		if total+int64(len(chunk)) > limit {
			chunk = chunk[:limit-total]
			rp.feed(chunk)
			total = limit + 1
			break
		}
		rp.feed(chunk)
		total += int64(len(chunk))
		_, _ = br.Discard(len(chunk))
	}
	if total > limit && rp.inVal && rp.field == fieldDat {
		rp.datBig = true
	}
	rp.endPair()
	return rerr
}

func (rp *rawFormParser) feed(b []byte) {
	for len(b) > 0 {
		if !rp.inVal {
			i := 0
			for ; i < len(b) && b[i] != '=' && b[i] != '&'; i++ {
			}
			if len(rp.key)+i > maxKeyLen {
				rp.keyBad = true
			} else {
				rp.key = append(rp.key, b[:i]...)
			}
			if i == len(b) {
				return
			}
			if b[i] == '&' { // pair without '=': ignored, as in the reference
				rp.key, rp.keyBad = rp.key[:0], false
			} else {
				rp.startValue()
			}
			b = b[i+1:]
			continue
		}
		// In a value: find the end of the pair.
		i := 0
		for ; i < len(b) && b[i] != '&'; i++ {
		}
		rp.value(b[:i])
		if i == len(b) {
			return
		}
		rp.endPair()
		b = b[i+1:]
	}
}

func (rp *rawFormParser) startValue() {
	rp.inVal = true
	rp.field = fieldOther
	if !rp.keyBad {
		switch string(rp.key) {
		case "op":
			rp.field = fieldOp
		case "v":
			rp.field = fieldV
		case "id":
			rp.field = fieldID
		case "dat":
			rp.field = fieldDat
			rp.pct, rp.datBad, rp.datBig = 0, false, false
			rp.datBuf = rp.datBuf[:0]
		}
	}
	rp.val = rp.val[:0]
}

func (rp *rawFormParser) value(b []byte) {
	switch rp.field {
	case fieldOther:
	case fieldDat:
		rp.decodeDat(b)
	default:
		if room := maxSmallValue + 1 - len(rp.val); room > 0 {
			rp.val = append(rp.val, b[:min(room, len(b))]...)
		}
	}
}

// decodeDat percent-decodes b into datBuf, stopping at the size cap.
func (rp *rawFormParser) decodeDat(b []byte) {
	if rp.datBad {
		return
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch rp.pct {
		case 1:
			h, ok := unhex(c)
			if !ok {
				rp.datBad = true
				return
			}
			rp.hi, rp.pct = h, 2
			continue
		case 2:
			l, ok := unhex(c)
			if !ok {
				rp.datBad = true
				return
			}
			rp.pct = 0
			rp.putDat(rp.hi<<4 | l)
			continue
		}
		switch c {
		case '%':
			rp.pct = 1
		case '+':
			rp.putDat(' ')
		default:
			// Copy the run of plain bytes at once.
			j := i
			for j < len(b) && b[j] != '%' && b[j] != '+' {
				j++
			}
			if !rp.datBig {
				if int64(len(rp.datBuf)+j-i) > rp.maxDat {
					rp.datBig = true
				} else {
					rp.datBuf = append(rp.datBuf, b[i:j]...)
				}
			}
			i = j - 1
		}
	}
}

func (rp *rawFormParser) putDat(c byte) {
	if rp.datBig {
		return
	}
	if int64(len(rp.datBuf)) >= rp.maxDat {
		rp.datBig = true
		return
	}
	rp.datBuf = append(rp.datBuf, c)
}

func (rp *rawFormParser) endPair() {
	if !rp.inVal {
		rp.key, rp.keyBad = rp.key[:0], false
		return
	}
	p := rp.p
	switch rp.field {
	case fieldOp:
		p.op, p.hasOp = string(rp.val[:min(len(rp.val), maxSmallValue)]), true
	case fieldV:
		p.v, p.hasV = string(rp.val[:min(len(rp.val), maxSmallValue)]), true
	case fieldID:
		p.id, p.hasID = string(rp.val[:min(len(rp.val), maxSmallValue)]), true
		p.idTooLong = len(rp.val) > maxSmallValue
	case fieldDat:
		if rp.pct != 0 {
			rp.datBad = true
		}
		p.hasDat, p.datMalformed, p.datTooLarge = true, rp.datBad, rp.datBig
		p.dat = nil
		if !rp.datBad && !rp.datBig {
			// Hand the buffer over; a later dat starts a new one.
			p.dat = rp.datBuf
			rp.datBuf = nil
		}
	}
	rp.inVal, rp.field = false, fieldOther
	rp.key, rp.keyBad = rp.key[:0], false
}
