package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// maxObjNum is the largest object number accepted (ISO 32000-1 Annex C: 8,388,607).
const maxObjNum = 1<<23 - 1

// maxXRefSections bounds the /Prev chain.
const maxXRefSections = 4096

// maxDecoded bounds the decoded size of object and cross-reference streams.
const maxDecoded = 256 << 20

// XRefForm is the form of a cross-reference section.
type XRefForm int

// The cross-reference forms.
const (
	XRefTable  XRefForm = iota + 1 // classic "xref" table and "trailer"
	XRefStream                     // cross-reference stream (PDF 1.5)
)

func (f XRefForm) String() string {
	switch f {
	case XRefTable:
		return "table"
	case XRefStream:
		return "stream"
	}
	return "unknown"
}

type entry struct {
	off int64  // type 1: byte offset; type 2: object stream number
	idx int32  // type 2: index in the object stream
	gen uint16 // type 1: generation
	typ uint8  // 0 free or absent, 1 in file, 2 in object stream; 0x80: set by a section
}

// Options configure [Open].
type Options struct {
	// Passwords are tried in order on an encrypted document (each as owner, then as user
	// password). The empty password is tried only when Passwords is empty... and then only
	// to report [ErrEncrypted] precisely.
	Passwords []string
	// AllowEmptyPassword lets an encrypted document whose user password is empty open
	// without a password.
	AllowEmptyPassword bool
}

// Reader reads a PDF document. It is not safe for concurrent use.
type Reader struct {
	ra    io.ReaderAt
	data  []byte // whole file when memory-backed (from offset shift on)
	shift int64  // file offset of data[0] (non-zero only for VerifyUpdate's reader)
	size  int64

	version   string
	xref      []entry
	trailer   *Dict
	startxref int64
	form      XRefForm
	hybrid    bool
	repaired  bool
	repairMsg string
	sections  int
	eofEnd    int64

	crypt      *crypt
	encryptRef Ref
	// implausible is the first in-use object number refused by objNumLimit (0: none).
	implausible int
	// objLimit overrides objNumLimit (VerifyUpdate reads an update with its document's).
	objLimit  int
	cache     map[int]Object
	objStms   map[int]*objStm
	resolving map[int]bool
}

type objStm struct {
	data  []byte
	first int
	offs  []int
	nums  []int
}

// OpenBytes opens a document held in memory; no byte of b is copied.
func OpenBytes(ctx context.Context, b []byte, opts *Options) (*Reader, error) {
	r := &Reader{ra: bytes.NewReader(b), data: b, size: int64(len(b))}
	return r, r.init(ctx, opts)
}

// Open opens a document of size bytes read through ra.
func Open(ctx context.Context, ra io.ReaderAt, size int64, opts *Options) (*Reader, error) {
	r := &Reader{ra: ra, size: size}
	return r, r.init(ctx, opts)
}

// Size returns the document size.
func (r *Reader) Size() int64 { return r.size }

// Version returns the header version ("1.7").
func (r *Reader) Version() string { return r.version }

// Trailer returns the trailer dictionary of the newest section (after repair, the
// reconstructed one).
func (r *Reader) Trailer() *Dict { return r.trailer }

// StartXRef returns the offset of the newest cross-reference section (the value an update's
// /Prev must carry).
func (r *Reader) StartXRef() int64 { return r.startxref }

// XRefForm returns the form of the newest cross-reference section.
func (r *Reader) XRefForm() XRefForm { return r.form }

// Hybrid reports whether the newest table carries /XRefStm.
func (r *Reader) Hybrid() bool { return r.hybrid }

// Repaired reports whether the cross-reference had to be rebuilt by scanning the file, and why.
func (r *Reader) Repaired() (bool, string) { return r.repaired, r.repairMsg }

// Sections returns the number of cross-reference sections read.
func (r *Reader) Sections() int { return r.sections }

// EOFEnd returns the offset just after the last %%EOF marker.
func (r *Reader) EOFEnd() int64 { return r.eofEnd }

// Encrypted reports whether the document is encrypted.
func (r *Reader) Encrypted() bool { return r.crypt != nil }

// MaxObjNum returns the highest object number in the cross-reference.
func (r *Reader) MaxObjNum() int { return len(r.xref) - 1 }

// HasObject reports whether num is an in-use object.
func (r *Reader) HasObject(num int) bool {
	return num > 0 && num < len(r.xref) && r.xref[num].kind() != 0
}

// Compressed reports whether object num lives in an object stream.
func (r *Reader) Compressed(num int) bool {
	return num > 0 && num < len(r.xref) && r.xref[num].kind() == 2
}

// window returns up to n bytes at off.
func (r *Reader) window(off, n int64) ([]byte, error) {
	if off < r.shift || off > r.size {
		return nil, malformed("offset %d outside the %d-byte file", off, r.size)
	}
	if n < 0 {
		n = 0
	}
	if off+n > r.size {
		n = r.size - off
	}
	if r.data != nil {
		return r.data[off-r.shift : off-r.shift+n], nil
	}
	buf := make([]byte, n)
	m, err := r.ra.ReadAt(buf, off)
	if m < len(buf) && err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("pdf: read at %d: %w", off, err)
	}
	return buf[:m], nil
}

func (r *Reader) init(ctx context.Context, opts *Options) error {
	if opts == nil {
		opts = &Options{}
	}
	if r.size == 0 {
		return malformed("the document is empty (0 bytes)")
	}
	head, err := r.window(0, 1024)
	if err != nil {
		return err
	}
	hi := bytes.Index(head, []byte("%PDF-"))
	if hi < 0 {
		return malformed("no %%PDF- header in the first 1024 bytes: not a PDF document")
	}
	v := head[hi+5:]
	n := 0
	for n < len(v) && n < 4 && (v[n] == '.' || (v[n] >= '0' && v[n] <= '9')) {
		n++
	}
	r.version = string(v[:n])
	if err := r.findEOF(); err != nil {
		return err
	}
	r.cache = map[int]Object{}
	r.objStms = map[int]*objStm{}
	r.resolving = map[int]bool{}
	if err := r.readXRefChain(ctx); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if rerr := r.repair(ctx, err.Error()); rerr != nil {
			return fmt.Errorf("%w (cross-reference repair failed: %v)", err, rerr)
		}
	} else if bad := r.checkOffsets(); bad != "" {
		if rerr := r.repair(ctx, bad); rerr != nil {
			return malformed("%s; cross-reference repair failed: %v", bad, rerr)
		}
	}
	if err := r.setupEncryption(opts); err != nil {
		return err
	}
	if _, _, err := r.Catalog(); err != nil {
		if !r.repaired {
			// The table parsed but the catalog cannot be read: rebuild once.
			msg := err.Error()
			r.crypt = nil
			if rerr := r.repair(ctx, msg); rerr != nil {
				return err
			}
			if err := r.setupEncryption(opts); err != nil {
				return err
			}
			if _, _, err := r.Catalog(); err != nil {
				return err
			}
			return nil
		}
		return err
	}
	return nil
}

// findEOF locates the last %%EOF marker and refuses data after it (other than white space).
func (r *Reader) findEOF() error {
	const chunk = 4096
	end := r.size
	// Skip trailing white space and NULs.
	for end > r.shift {
		s := max(end-chunk, r.shift)
		w, err := r.window(s, end-s)
		if err != nil {
			return err
		}
		i := len(w)
		for i > 0 && isWS(w[i-1]) {
			i--
		}
		end = s + int64(i)
		if i > 0 {
			break
		}
	}
	if end-r.shift >= 5 {
		w, err := r.window(end-5, 5)
		if err != nil {
			return err
		}
		if string(w) == "%%EOF" {
			r.eofEnd = end
			return nil
		}
	}
	// Not at the end: find out whether there is a %%EOF followed by garbage.
	s := max(r.size-1<<20, r.shift)
	w, err := r.window(s, r.size-s)
	if err != nil {
		return err
	}
	if i := bytes.LastIndex(w, []byte("%%EOF")); i >= 0 {
		after := r.size - (s + int64(i) + 5)
		return malformed("%d bytes of data follow the last %%%%EOF marker (a damaged or truncated incremental update, or foreign data appended to the file)", after)
	}
	return malformed("no %%%%EOF marker at the end of the file: the document is truncated or not a PDF")
}

// readXRefChain reads the newest section and its /Prev chain.
func (r *Reader) readXRefChain(ctx context.Context) error {
	sx, err := r.findStartXRef()
	if err != nil {
		return err
	}
	r.startxref = sx
	visited := map[int64]bool{}
	off := sx
	first := true
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if visited[off] {
			return malformed("cross-reference /Prev chain loops back to offset %d", off)
		}
		if len(visited) >= maxXRefSections {
			return malformed("more than %d cross-reference sections", maxXRefSections)
		}
		visited[off] = true
		trailer, form, err := r.readSection(off, first)
		if err != nil {
			return err
		}
		r.sections++
		if first {
			r.trailer = trailer
			r.form = form
			first = false
		}
		prev, ok := trailer.Get("Prev").(int64)
		if !ok {
			if f, isF := trailer.Get("Prev").(float64); isF {
				prev, ok = int64(f), true
			}
		}
		if !ok {
			break
		}
		if prev <= 0 || prev >= r.size {
			if prev == 0 {
				break
			}
			return malformed("trailer /Prev %d is outside the file", prev)
		}
		off = prev
	}
	if r.trailer.Get("Root") == nil {
		return malformed("the trailer has no /Root")
	}
	if r.implausible > 0 {
		return malformed("the cross-reference lists object %d, implausible in a file of %d bytes", r.implausible, r.size)
	}
	return nil
}

func (r *Reader) findStartXRef() (int64, error) {
	s := max(r.eofEnd-1024, r.shift)
	w, err := r.window(s, r.eofEnd-s)
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndex(w, []byte("startxref"))
	if i < 0 {
		return 0, malformed("no startxref before the last %%%%EOF")
	}
	l := &lexer{b: w, pos: i + 9, base: s}
	n, ok := l.readInt()
	if !ok {
		return 0, malformed("startxref is not followed by an offset")
	}
	if n <= 0 || n >= r.size {
		return 0, malformed("startxref %d is outside the file", n)
	}
	return n, nil
}

// decodeLimit bounds the decoded size of this document's object and cross-reference streams:
// 256 MB, and at most 32 times the file size (at least 16 MB), so that a small file cannot
// expand into gigabytes.
func (r *Reader) decodeLimit() int {
	return int(min(int64(maxDecoded), max(16<<20, 32*r.size)))
}

// objNumLimit is the highest object number accepted in this document: the PDF limit, and at
// most one object per two bytes of file (beyond any real document; it bounds the memory a
// small hostile file can make the cross-reference take).
func (r *Reader) objNumLimit() int {
	if r.objLimit > 0 {
		return r.objLimit
	}
	return int(min(int64(maxObjNum), max(1<<16, r.size/2)))
}

// growXRef makes room for object numbers up to num in one allocation.
func (r *Reader) growXRef(num int) {
	if num > r.objNumLimit() || num < len(r.xref) {
		return
	}
	nx := make([]entry, num+1)
	copy(nx, r.xref)
	r.xref = nx
}

func (r *Reader) setEntry(num int, e entry, override bool) {
	if num <= 0 {
		return
	}
	if num > r.objNumLimit() {
		if e.typ != 0 && r.implausible == 0 {
			r.implausible = num
		}
		return
	}
	if num >= len(r.xref) {
		n := len(r.xref) * 2
		if n < num+1 {
			n = num + 1
		}
		if lim := r.objNumLimit() + 1; n > lim {
			n = lim
		}
		nx := make([]entry, num+1, n)
		copy(nx, r.xref)
		r.xref = nx
	}
	if !override && r.xref[num].set() {
		return
	}
	r.xref[num] = e
	r.xref[num].typ |= 0x80 // mark as set by a section
}

func (e entry) set() bool   { return e.typ&0x80 != 0 }
func (e entry) kind() uint8 { return e.typ & 0x7f }

// readSection reads the section at off, adding entries not already set by newer sections.
func (r *Reader) readSection(off int64, newest bool) (*Dict, XRefForm, error) {
	w, err := r.window(off, 32)
	if err != nil {
		return nil, 0, err
	}
	l := &lexer{b: w, base: off}
	l.skipWS()
	if bytes.HasPrefix(w[l.pos:], []byte("xref")) {
		t, err := r.readTable(off)
		if err != nil {
			return nil, 0, err
		}
		if xs, ok := Int(t.Get("XRefStm")); ok {
			if newest {
				r.hybrid = true
			}
			if xs <= 0 || xs >= r.size {
				return nil, 0, malformed("/XRefStm %d is outside the file", xs)
			}
			if _, err := r.readXRefStream(xs, true); err != nil {
				return nil, 0, err
			}
		}
		return t, XRefTable, nil
	}
	t, err := r.readXRefStream(off, false)
	if err != nil {
		return nil, 0, err
	}
	return t, XRefStream, nil
}

// readTable parses a classic table and its trailer.
func (r *Reader) readTable(off int64) (*Dict, error) {
	// Read progressively larger windows until the trailer dictionary parses.
	n := int64(64 << 10)
	for {
		w, err := r.window(off, n)
		if err != nil {
			return nil, err
		}
		t, err := r.parseTable(w, off, int64(len(w)) < n)
		if err == errShort && int64(len(w)) == n {
			n *= 4
			continue
		}
		return t, err
	}
}

var errShort = errors.New("short window")

type pendingEntry struct {
	num int
	e   entry
}

func (r *Reader) parseTable(w []byte, base int64, final bool) (*Dict, error) {
	l := &lexer{b: w, base: base}
	l.skipWS()
	l.pos += 4 // "xref"
	var pend []pendingEntry
	for {
		l.skipWS()
		if l.eof() {
			if final {
				return nil, malformed("cross-reference table at %d has no trailer", base)
			}
			return nil, errShort
		}
		if bytes.HasPrefix(l.b[l.pos:], []byte("trailer")) {
			l.pos += 7
			break
		}
		start, ok1 := l.readInt()
		count, ok2 := l.readInt()
		if !ok1 || !ok2 {
			if !final && len(w)-l.pos < 64 {
				return nil, errShort
			}
			return nil, l.errf("bad cross-reference subsection header")
		}
		if start+count > maxObjNum+1 {
			return nil, l.errf("cross-reference subsection %d+%d exceeds the object limit", start, count)
		}
		if count*18 > int64(len(w)-l.pos)+18 {
			if !final {
				return nil, errShort
			}
			return nil, l.errf("cross-reference subsection of %d entries is truncated", count)
		}
		pend = slices.Grow(pend, int(count))
		for i := int64(0); i < count; i++ {
			o, ok1 := l.readInt()
			g, ok2 := l.readInt()
			l.skipWS()
			if !ok1 || !ok2 || l.eof() {
				if !final && !ok1 {
					return nil, errShort
				}
				return nil, l.errf("bad cross-reference entry %d", start+i)
			}
			kw := l.b[l.pos]
			l.pos++
			if g > 65535 {
				g = 65535
			}
			num := int(start + i)
			switch kw {
			case 'n':
				if o == 0 && num != 0 {
					// Some writers mark missing objects "0000000000 00000 n": treat as free.
					pend = append(pend, pendingEntry{num, entry{typ: 0}})
					continue
				}
				pend = append(pend, pendingEntry{num, entry{typ: 1, gen: uint16(g), off: o}})
			case 'f':
				pend = append(pend, pendingEntry{num, entry{typ: 0, gen: uint16(g)}})
			default:
				return nil, l.errf("bad cross-reference entry type %q", kw)
			}
		}
	}
	obj, err := l.object(0)
	if err != nil {
		if !final && l.short {
			return nil, errShort
		}
		return nil, err
	}
	t, ok := obj.(*Dict)
	if !ok {
		return nil, malformed("trailer at %d is not a dictionary", base)
	}
	if len(pend) > 0 {
		r.growXRef(pend[len(pend)-1].num)
	}
	for _, p := range pend {
		r.setEntry(p.num, p.e, false)
	}
	return t, nil
}

// readXRefStream parses the xref stream object at off. In hybrid mode its entries fill only
// entries the table left free or absent.
func (r *Reader) readXRefStream(off int64, hybrid bool) (*Dict, error) {
	_, _, obj, err := r.parseIndirectAt(off, -1, nil)
	if err != nil {
		return nil, err
	}
	s, ok := obj.(*Stream)
	if !ok {
		return nil, malformed("no cross-reference table or stream at offset %d", off)
	}
	if tp, _ := s.Dict.Get("Type").(Name); tp != "XRef" {
		return nil, malformed("object at %d is not a cross-reference stream", off)
	}
	data, err := r.decodeStream(s, r.decodeLimit())
	if err != nil {
		return nil, fmt.Errorf("cross-reference stream at %d: %w", off, err)
	}
	wa, ok := s.Dict.Get("W").(Array)
	if !ok || len(wa) < 3 {
		return nil, malformed("cross-reference stream at %d has no valid /W", off)
	}
	var wd [3]int
	total := 0
	for i := 0; i < 3; i++ {
		v, ok := Int(wa[i])
		if !ok || v < 0 || v > 8 {
			return nil, malformed("cross-reference stream at %d has a bad /W", off)
		}
		wd[i] = int(v)
		total += int(v)
	}
	if total == 0 {
		return nil, malformed("cross-reference stream at %d has a zero-width /W", off)
	}
	size, _ := Int(s.Dict.Get("Size"))
	var index []int64
	if ia, ok := s.Dict.Get("Index").(Array); ok {
		for _, v := range ia {
			n, ok := Int(v)
			if !ok || n < 0 {
				return nil, malformed("cross-reference stream at %d has a bad /Index", off)
			}
			index = append(index, n)
		}
		if len(index)%2 != 0 {
			return nil, malformed("cross-reference stream at %d has an odd /Index", off)
		}
	} else {
		index = []int64{0, size}
	}
	pos := 0
	field := func(w int) int64 {
		var v int64
		for k := 0; k < w; k++ {
			v = v<<8 | int64(data[pos])
			pos++
		}
		return v
	}
	for i := 0; i+1 < len(index); i += 2 {
		start, count := index[i], index[i+1]
		if start+count > maxObjNum+1 {
			return nil, malformed("cross-reference stream at %d indexes objects beyond the limit", off)
		}
		for j := int64(0); j < count; j++ {
			if pos+total > len(data) {
				return nil, malformed("cross-reference stream at %d is shorter than its /Index", off)
			}
			t := int64(1)
			if wd[0] > 0 {
				t = field(wd[0])
			}
			f2 := field(wd[1])
			f3 := field(wd[2])
			num := int(start + j)
			var e entry
			switch t {
			case 0:
				e = entry{typ: 0}
			case 1:
				if f3 > 65535 {
					f3 = 65535
				}
				e = entry{typ: 1, off: f2, gen: uint16(f3)}
			case 2:
				if f2 <= 0 || f2 > maxObjNum {
					continue
				}
				if f3 > math.MaxInt32 {
					continue
				}
				e = entry{typ: 2, off: f2, idx: int32(f3)}
			default:
				continue // reserved types are ignored
			}
			if hybrid {
				if num < len(r.xref) && r.xref[num].set() && r.xref[num].kind() != 0 {
					continue
				}
				r.setEntry(num, e, true)
				continue
			}
			r.setEntry(num, e, false)
		}
	}
	return s.Dict, nil
}

// checkOffsets verifies that every in-file entry points at its object header; it returns a
// description of the first problem, or "".
func (r *Reader) checkOffsets() string {
	for num := 1; num < len(r.xref); num++ {
		e := r.xref[num]
		switch e.kind() {
		case 1:
			if e.off <= 0 || e.off >= r.size {
				return fmt.Sprintf("object %d has offset %d outside the file", num, e.off)
			}
			w, err := r.window(e.off, 40)
			if err != nil {
				return err.Error()
			}
			l := &lexer{b: w}
			l.skipWS()
			n, ok1 := l.readInt()
			g, ok2 := l.readInt()
			if !ok1 || !ok2 || !l.keyword("obj") || int(n) != num || int(g) != int(e.gen) {
				return fmt.Sprintf("cross-reference entry for object %d (offset %d) does not point at its header", num, e.off)
			}
		case 2:
			if int(e.off) >= len(r.xref) || r.xref[e.off].kind() != 1 {
				return fmt.Sprintf("object %d is in object stream %d, which is not in the file", num, e.off)
			}
		}
	}
	return ""
}

// parseIndirectAt parses "num gen obj ... endobj" at off. wantNum < 0 accepts any number.
// ref is the reference used to decrypt (nil: no decryption).
func (r *Reader) parseIndirectAt(off int64, wantNum int, dec *Ref) (int, int, Object, error) {
	n := int64(16 << 10)
	for {
		w, err := r.window(off, n)
		if err != nil {
			return 0, 0, nil, err
		}
		num, gen, obj, err := r.parseIndirect(w, off, wantNum, dec, int64(len(w)) < n)
		if errors.Is(err, errShort) {
			n *= 8
			continue
		}
		return num, gen, obj, err
	}
}

func (r *Reader) parseIndirect(w []byte, base int64, wantNum int, dec *Ref, final bool) (int, int, Object, error) {
	l := &lexer{b: w, base: base}
	l.skipWS()
	num, ok1 := l.readInt()
	gen, ok2 := l.readInt()
	if !ok1 || !ok2 || !l.keyword("obj") {
		if !final && len(w) < 64 {
			return 0, 0, nil, errShort
		}
		return 0, 0, nil, malformed("no object header at offset %d", base)
	}
	if wantNum >= 0 && int(num) != wantNum {
		return 0, 0, nil, malformed("offset %d holds object %d, not %d", base, num, wantNum)
	}
	obj, err := l.object(0)
	if err != nil {
		if !final && l.short {
			return 0, 0, nil, errShort
		}
		return 0, 0, nil, err
	}
	if !final && len(l.b)-l.pos < 64 {
		// The object may go on past the window (a number cut short, the stream keyword).
		return 0, 0, nil, errShort
	}
	d, isDict := obj.(*Dict)
	if isDict && l.keyword("stream") {
		// The stream keyword is followed by CRLF or LF (tolerate CR alone).
		if l.pos < len(l.b) && l.b[l.pos] == '\r' {
			l.pos++
		}
		if l.pos < len(l.b) && l.b[l.pos] == '\n' {
			l.pos++
		}
		dataStart := base + int64(l.pos)
		data, err := r.streamData(d, dataStart, int(num))
		if err != nil {
			return 0, 0, nil, err
		}
		s := &Stream{Dict: d, Data: data}
		if t, _ := d.Get("Type").(Name); t == "XRef" {
			dec = nil // cross-reference streams are never encrypted
		}
		if dec != nil && r.crypt != nil {
			if err := r.crypt.decryptStream(s, *dec); err != nil {
				return 0, 0, nil, err
			}
			decryptStrings(r.crypt, d, *dec, 0)
		}
		return int(num), int(gen), s, nil
	}
	if dec != nil && r.crypt != nil {
		obj = decryptObject(r.crypt, obj, *dec, 0)
	}
	return int(num), int(gen), obj, nil
}

// streamData returns the raw stream data starting at dataStart, using /Length when it is
// right and searching for endstream otherwise.
func (r *Reader) streamData(d *Dict, dataStart int64, selfNum int) ([]byte, error) {
	length := int64(-1)
	switch lv := d.Get("Length").(type) {
	case int64:
		length = lv
	case Ref:
		if lv.Num != selfNum && !r.resolving[lv.Num] {
			if v, err := r.Object(lv.Num); err == nil {
				if n, ok := Int(v); ok {
					length = n
				}
			}
		}
	}
	if length >= 0 && dataStart+length <= r.size {
		w, err := r.window(dataStart+length, 32)
		if err == nil {
			l := &lexer{b: w}
			l.skipWS()
			if bytes.HasPrefix(w[l.pos:], []byte("endstream")) {
				return r.window(dataStart, length)
			}
		}
	}
	// Search for endstream.
	const chunk = 1 << 20
	for pos := dataStart; pos < r.size; pos += chunk - 16 {
		w, err := r.window(pos, chunk)
		if err != nil {
			return nil, err
		}
		if i := bytes.Index(w, []byte("endstream")); i >= 0 {
			end := pos + int64(i)
			data, err := r.window(dataStart, end-dataStart)
			if err != nil {
				return nil, err
			}
			// Drop the end-of-line before endstream.
			if n := len(data); n > 0 && data[n-1] == '\n' {
				data = data[:n-1]
				if n := len(data); n > 0 && data[n-1] == '\r' {
					data = data[:n-1]
				}
			} else if n > 0 && data[n-1] == '\r' {
				data = data[:n-1]
			}
			return data, nil
		}
		if int64(len(w)) < chunk {
			break
		}
	}
	return nil, malformed("stream at offset %d has no endstream", dataStart)
}

// Object returns object num (nil for free or absent objects, as PDF prescribes).
func (r *Reader) Object(num int) (Object, error) {
	if num <= 0 || num >= len(r.xref) {
		return nil, nil
	}
	if o, ok := r.cache[num]; ok {
		return o, nil
	}
	if r.resolving[num] {
		return nil, malformed("object %d refers to itself while being read", num)
	}
	r.resolving[num] = true
	defer delete(r.resolving, num)
	e := r.xref[num]
	var obj Object
	switch e.kind() {
	case 0:
		return nil, nil
	case 1:
		ref := Ref{num, int(e.gen)}
		var dec *Ref
		if r.crypt != nil && ref != r.encryptRef {
			dec = &ref
		}
		_, _, o, err := r.parseIndirectAt(e.off, num, dec)
		if err != nil {
			return nil, err
		}
		obj = o
	case 2:
		o, err := r.compressed(num, int(e.off), int(e.idx))
		if err != nil {
			return nil, err
		}
		obj = o
	}
	r.cache[num] = obj
	return obj, nil
}

func (r *Reader) compressed(num, stmNum, idx int) (Object, error) {
	os, err := r.loadObjStm(stmNum)
	if err != nil {
		return nil, err
	}
	k := -1
	if idx >= 0 && idx < len(os.nums) && os.nums[idx] == num {
		k = idx
	} else {
		for i, n := range os.nums {
			if n == num {
				k = i
				break
			}
		}
	}
	if k < 0 {
		return nil, malformed("object %d is not in object stream %d", num, stmNum)
	}
	start := os.first + os.offs[k]
	if start < 0 || start > len(os.data) {
		return nil, malformed("object %d has a bad offset in object stream %d", num, stmNum)
	}
	l := &lexer{b: os.data[start:]}
	return l.object(0)
}

func (r *Reader) loadObjStm(num int) (*objStm, error) {
	if os, ok := r.objStms[num]; ok {
		return os, nil
	}
	if num <= 0 || num >= len(r.xref) || r.xref[num].kind() != 1 {
		return nil, malformed("object stream %d is not in the file", num)
	}
	o, err := r.Object(num)
	if err != nil {
		return nil, err
	}
	s, ok := o.(*Stream)
	if !ok {
		return nil, malformed("object %d is not an object stream", num)
	}
	data, err := r.decodeStream(s, r.decodeLimit())
	if err != nil {
		return nil, fmt.Errorf("object stream %d: %w", num, err)
	}
	n, _ := Int(s.Dict.Get("N"))
	first, _ := Int(s.Dict.Get("First"))
	if n < 0 || n > int64(len(data)) || first < 0 || first > int64(len(data)) {
		return nil, malformed("object stream %d has bad /N or /First", num)
	}
	os := &objStm{data: data, first: int(first)}
	l := &lexer{b: data[:first]}
	for i := int64(0); i < n; i++ {
		on, ok1 := l.readInt()
		oo, ok2 := l.readInt()
		if !ok1 || !ok2 {
			return nil, malformed("object stream %d has a bad header", num)
		}
		os.nums = append(os.nums, int(on))
		os.offs = append(os.offs, int(oo))
	}
	r.objStms[num] = os
	return os, nil
}

// Resolve follows references (up to a bounded chain) and returns the direct object.
func (r *Reader) Resolve(o Object) (Object, error) {
	for i := 0; i < 32; i++ {
		ref, ok := o.(Ref)
		if !ok {
			return o, nil
		}
		v, err := r.Object(ref.Num)
		if err != nil {
			return nil, err
		}
		if r.generation(ref.Num) != ref.Gen {
			return nil, nil
		}
		o = v
	}
	return nil, malformed("reference chain too long")
}

func (r *Reader) generation(num int) int {
	if num <= 0 || num >= len(r.xref) {
		return -1
	}
	e := r.xref[num]
	if e.kind() == 2 {
		return 0
	}
	return int(e.gen)
}

// Gen returns the generation number of in-use object num.
func (r *Reader) Gen(num int) int { return r.generation(num) }

// Get returns the resolved value of key in d (nil when absent or unreadable).
func (r *Reader) Get(d *Dict, key Name) Object {
	v, err := r.Resolve(d.Get(key))
	if err != nil {
		return nil
	}
	return v
}

// GetDict resolves o and returns it as a dictionary (a stream's dictionary too), or nil.
func (r *Reader) GetDict(o Object) *Dict {
	v, err := r.Resolve(o)
	if err != nil {
		return nil
	}
	switch d := v.(type) {
	case *Dict:
		return d
	case *Stream:
		return d.Dict
	}
	return nil
}

// GetArray resolves o and returns it as an array, or nil.
func (r *Reader) GetArray(o Object) Array {
	v, err := r.Resolve(o)
	if err != nil {
		return nil
	}
	a, _ := v.(Array)
	return a
}

// Catalog returns the document catalog and its reference.
func (r *Reader) Catalog() (*Dict, Ref, error) {
	ref, ok := r.trailer.Get("Root").(Ref)
	if !ok {
		return nil, Ref{}, malformed("the trailer /Root is not a reference")
	}
	o, err := r.Object(ref.Num)
	if err != nil {
		return nil, ref, fmt.Errorf("reading the catalog: %w", err)
	}
	d, ok := o.(*Dict)
	if !ok {
		return nil, ref, malformed("the catalog (object %d) is not a dictionary", ref.Num)
	}
	return d, ref, nil
}

// NumString renders n for error texts.
func NumString(n int64) string { return strconv.FormatInt(n, 10) }
