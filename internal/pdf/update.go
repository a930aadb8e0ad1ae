package pdf

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
)

// Marker is syntax written verbatim whose offset in the update is recorded under ID (e.g. a
// signature's /ByteRange and /Contents placeholders). Markers are never encrypted.
type Marker struct {
	ID   string
	Body []byte
}

// Update collects the objects of an incremental update.
type Update struct {
	r    *Reader
	objs map[int]Object
	next int
}

// NewUpdate starts an incremental update of the document.
func (r *Reader) NewUpdate() *Update {
	next := len(r.xref)
	// A /Size beyond what the document can hold (see objNumLimit) is not followed: the new
	// objects would be numbered where no reader looks for them.
	if sz, ok := Int(r.trailer.Get("Size")); ok && sz > int64(next) && sz <= int64(r.objNumLimit()) {
		next = int(sz)
	}
	if next < 1 {
		next = 1
	}
	return &Update{r: r, objs: map[int]Object{}, next: next}
}

// Add adds a new object and returns its reference.
func (u *Update) Add(o Object) Ref {
	ref := Ref{Num: u.next}
	u.next++
	u.objs[ref.Num] = o
	return ref
}

// Reserve allocates a new object number whose object is given later with [Update.Set].
func (u *Update) Reserve() Ref {
	ref := Ref{Num: u.next}
	u.next++
	u.objs[ref.Num] = nil
	return ref
}

// Set replaces object ref (an existing object, or one reserved in this update).
func (u *Update) Set(ref Ref, o Object) {
	u.objs[ref.Num] = o
}

// Changed reports whether the update rewrites object num.
func (u *Update) Changed(num int) bool {
	_, ok := u.objs[num]
	return ok
}

// Get returns the object the update holds for num.
func (u *Update) Get(num int) (Object, bool) {
	o, ok := u.objs[num]
	return o, ok
}

// Layout tells where things landed in the bytes returned by [Update.Bytes].
type Layout struct {
	// Markers maps each Marker ID to its offset relative to the start of the update bytes.
	Markers map[string]int
	// StartXRef is the absolute offset of the update's cross-reference section.
	StartXRef int64
}

// WriteOptions control [Update.Bytes].
type WriteOptions struct {
	// ID is the new trailer /ID array (two strings); nil keeps the document's.
	ID Array
	// SizeHint is the expected size of the update (its buffer is allocated once when the
	// hint is right); 0 means no hint.
	SizeHint int
}

func (u *Update) gen(num int) int {
	if num < len(u.r.xref) && u.r.xref[num].kind() == 1 {
		return int(u.r.xref[num].gen)
	}
	return 0
}

// Bytes serialises the update: the bytes to append to the original document.
func (u *Update) Bytes(opts WriteOptions) ([]byte, *Layout, error) {
	r := u.r
	base := r.size
	lay := &Layout{Markers: map[string]int{}}
	b := make([]byte, 0, max(opts.SizeHint, 0))
	if last, err := r.window(r.size-1, 1); err != nil || len(last) == 0 || (last[0] != '\n' && last[0] != '\r') {
		b = append(b, '\n')
	}
	nums := sortedInts(u.objs)
	offs := map[int]int64{}
	for _, num := range nums {
		o := u.objs[num]
		if o == nil {
			return nil, nil, fmt.Errorf("pdf: object %d was reserved but never set", num)
		}
		ref := Ref{num, u.gen(num)}
		offs[num] = base + int64(len(b))
		b = strconv.AppendInt(b, int64(num), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(ref.Gen), 10)
		b = append(b, " obj\n"...)
		w := &objWriter{b: b, crypt: r.crypt, ref: ref, lay: lay}
		if err := w.indirect(o); err != nil {
			return nil, nil, err
		}
		b = append(w.b, "\nendobj\n"...)
	}
	trailer := &Dict{}
	for _, k := range []Name{"Root", "Info", "Encrypt"} {
		if v := r.trailer.Get(k); v != nil {
			trailer.Set(k, v)
		}
	}
	if opts.ID != nil {
		trailer.Set("ID", opts.ID)
	} else if v := r.trailer.Get("ID"); v != nil {
		trailer.Set("ID", v)
	}
	full := r.repaired
	var err error
	if r.form == XRefStream || (full && hasCompressed(r)) {
		b, err = u.writeXRefStream(b, base, offs, trailer, full, lay)
	} else {
		b, err = u.writeXRefTable(b, base, offs, trailer, full, lay)
	}
	if err != nil {
		return nil, nil, err
	}
	return b, lay, nil
}

func hasCompressed(r *Reader) bool {
	for _, e := range r.xref {
		if e.kind() == 2 {
			return true
		}
	}
	return false
}

type xrefRow struct {
	num int
	typ int
	f2  int64
	f3  int64
}

func (u *Update) rows(offs map[int]int64, full bool) []xrefRow {
	var rows []xrefRow
	if full {
		rows = append(rows, xrefRow{0, 0, 0, 65535})
		for num := 1; num < len(u.r.xref); num++ {
			if _, ok := offs[num]; ok {
				continue
			}
			e := u.r.xref[num]
			switch e.kind() {
			case 1:
				rows = append(rows, xrefRow{num, 1, e.off, int64(e.gen)})
			case 2:
				rows = append(rows, xrefRow{num, 2, e.off, int64(e.idx)})
			}
		}
	}
	for num, off := range offs {
		rows = append(rows, xrefRow{num, 1, off, int64(u.gen(num))})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].num < rows[j].num })
	return rows
}

func (u *Update) size(next int) int64 {
	s := int64(next)
	if sz, ok := Int(u.r.trailer.Get("Size")); ok && sz > s && sz <= maxObjNum+1 {
		s = sz
	}
	return s
}

func (u *Update) writeXRefTable(b []byte, base int64, offs map[int]int64, trailer *Dict, full bool, lay *Layout) ([]byte, error) {
	rows := u.rows(offs, full)
	lay.StartXRef = base + int64(len(b))
	b = append(b, "xref\n"...)
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].num == rows[j-1].num+1 {
			j++
		}
		b = strconv.AppendInt(b, int64(rows[i].num), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(j-i), 10)
		b = append(b, '\n')
		for _, row := range rows[i:j] {
			b = appendPadded(b, row.f2, 10)
			b = append(b, ' ')
			b = appendPadded(b, row.f3, 5)
			if row.typ == 1 {
				b = append(b, " n\r\n"...)
			} else {
				b = append(b, " f\r\n"...)
			}
		}
		i = j
	}
	t := &Dict{}
	t.Set("Size", u.size(u.next))
	for _, k := range trailer.keys {
		t.Set(k, trailer.Get(k))
	}
	if !full {
		t.Set("Prev", u.r.startxref)
	}
	b = append(b, "trailer\n"...)
	b = Append(b, t)
	b = append(b, "\nstartxref\n"...)
	b = strconv.AppendInt(b, lay.StartXRef, 10)
	b = append(b, "\n%%EOF\n"...)
	return b, nil
}

func (u *Update) writeXRefStream(b []byte, base int64, offs map[int]int64, trailer *Dict, full bool, lay *Layout) ([]byte, error) {
	selfNum := u.next
	selfOff := base + int64(len(b))
	offs[selfNum] = selfOff
	rows := u.rows(offs, full)
	delete(offs, selfNum)
	maxF2 := int64(0)
	maxF3 := int64(0)
	for _, row := range rows {
		maxF2 = max(maxF2, row.f2)
		maxF3 = max(maxF3, row.f3)
	}
	w2 := byteWidth(maxF2)
	w3 := byteWidth(maxF3)
	var index Array
	var data []byte
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].num == rows[j-1].num+1 {
			j++
		}
		index = append(index, int64(rows[i].num), int64(j-i))
		for _, row := range rows[i:j] {
			data = append(data, byte(row.typ))
			data = appendBE(data, row.f2, w2)
			data = appendBE(data, row.f3, w3)
		}
		i = j
	}
	d := &Dict{}
	d.Set("Type", Name("XRef"))
	d.Set("Size", u.size(selfNum+1))
	d.Set("Index", index)
	d.Set("W", Array{int64(1), int64(w2), int64(w3)})
	for _, k := range trailer.keys {
		d.Set(k, trailer.Get(k))
	}
	if !full {
		d.Set("Prev", u.r.startxref)
	}
	d.Set("Length", int64(len(data)))
	lay.StartXRef = selfOff
	b = strconv.AppendInt(b, int64(selfNum), 10)
	b = append(b, " 0 obj\n"...)
	b = Append(b, d)
	b = append(b, "\nstream\n"...)
	b = append(b, data...)
	b = append(b, "\nendstream\nendobj\nstartxref\n"...)
	b = strconv.AppendInt(b, selfOff, 10)
	b = append(b, "\n%%EOF\n"...)
	return b, nil
}

func byteWidth(v int64) int {
	n := 1
	for v >= 1<<(8*n) && n < 8 {
		n++
	}
	return n
}

func appendBE(b []byte, v int64, w int) []byte {
	for i := w - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

func appendPadded(b []byte, v int64, w int) []byte {
	s := strconv.FormatInt(v, 10)
	for i := len(s); i < w; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// objWriter serialises one indirect object, encrypting strings and streams when the document
// is encrypted and recording marker offsets.
type objWriter struct {
	b     []byte
	crypt *crypt
	ref   Ref
	seq   int
	lay   *Layout
}

func (w *objWriter) indirect(o Object) error {
	if s, ok := o.(*Stream); ok {
		data := s.Data
		d := s.Dict.Clone()
		if w.crypt != nil {
			if t, _ := d.Get("Type").(Name); !(t == "Metadata" && !w.crypt.encMetadata) {
				w.seq++
				data = w.crypt.encrypt(w.crypt.stmF, w.ref, w.seq, data)
			}
		}
		d.Set("Length", int64(len(data)))
		w.value(d, 0)
		w.b = append(w.b, "\nstream\n"...)
		w.b = append(w.b, data...)
		w.b = append(w.b, "\nendstream"...)
		return nil
	}
	w.value(o, 0)
	return nil
}

func (w *objWriter) value(o Object, depth int) {
	switch v := o.(type) {
	case String:
		w.str(v, false)
	case HexString:
		w.str(v, true)
	case Marker:
		w.lay.Markers[v.ID] = len(w.b)
		w.b = append(w.b, v.Body...)
	case *Marker:
		w.lay.Markers[v.ID] = len(w.b)
		w.b = append(w.b, v.Body...)
	case Array:
		w.b = append(w.b, '[')
		for i, e := range v {
			if i > 0 {
				w.b = append(w.b, ' ')
			}
			w.value(e, depth+1)
		}
		w.b = append(w.b, ']')
	case *Dict:
		w.b = append(w.b, "<<"...)
		if v != nil {
			for i, k := range v.keys {
				w.b = appendName(w.b, k)
				val := v.vals[i]
				switch val.(type) {
				case Name, String, HexString, Array, *Dict, Marker, *Marker:
				default:
					w.b = append(w.b, ' ')
				}
				w.value(val, depth+1)
			}
		}
		w.b = append(w.b, ">>"...)
	default:
		w.b = Append(w.b, o)
	}
}

func (w *objWriter) str(s []byte, hex bool) {
	if w.crypt != nil {
		w.seq++
		w.b = appendHex(w.b, w.crypt.encrypt(w.crypt.strF, w.ref, w.seq, s))
		return
	}
	if hex {
		w.b = appendHex(w.b, s)
		return
	}
	w.b = appendString(w.b, s)
}

// VerifyUpdate checks upd, the bytes of an update of this document (as returned by
// [Update.Bytes]), as a reader would find them once appended to the document, reading only the
// update: its startxref must point at its own cross-reference section, which must parse; every
// object the section places in the update must have its header there; the trailer
// must keep /Root and /Encrypt and chain to the document's section with /Prev (or, after a
// repair, list every object of the document where the document has it).
func (r *Reader) VerifyUpdate(ctx context.Context, upd []byte) error {
	base := r.size
	nr := &Reader{ra: bytes.NewReader(upd), data: upd, shift: base, size: base + int64(len(upd)),
		cache: map[int]Object{}, objStms: map[int]*objStm{}, resolving: map[int]bool{}}
	if err := nr.findEOF(); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	sx, err := nr.findStartXRef()
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if sx < base {
		return malformed("update: startxref %d points before the update (at %d)", sx, base)
	}
	nr.objLimit = r.objNumLimit()
	trailer, _, err := nr.readSection(sx, true)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	if nr.implausible > 0 {
		return malformed("update: object %d is beyond the object numbers this document can hold", nr.implausible)
	}
	for _, k := range []Name{"Root", "Encrypt"} {
		if !sameValue(trailer.Get(k), r.trailer.Get(k)) {
			return malformed("update: the trailer's /%s differs from the document's", k)
		}
	}
	size, _ := Int(trailer.Get("Size"))
	prev, hasPrev := Int(trailer.Get("Prev"))
	if r.repaired {
		if hasPrev {
			return malformed("update: a complete cross-reference section must not have /Prev")
		}
	} else if !hasPrev || prev != r.startxref {
		return malformed("update: trailer /Prev is %d, the document's section is at %d", prev, r.startxref)
	}
	for num := 1; num < len(nr.xref); num++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := nr.xref[num]
		if !e.set() || e.kind() == 0 {
			continue
		}
		if int64(num) >= size {
			return malformed("update: object %d is beyond the trailer's /Size %d", num, size)
		}
		if e.kind() == 1 && e.off >= base {
			// The header only: the objects were written by [Update.Bytes] from parsed values.
			w, err := nr.window(e.off, 40)
			if err != nil {
				return fmt.Errorf("update: object %d: %w", num, err)
			}
			l := &lexer{b: w}
			n, ok1 := l.readInt()
			g, ok2 := l.readInt()
			if !ok1 || !ok2 || !l.keyword("obj") || int(n) != num || int(g) != int(e.gen) {
				return malformed("update: the entry of object %d (offset %d) does not point at its header", num, e.off)
			}
			continue
		}
		// An entry into the document itself (complete sections only) must be the document's.
		if !r.repaired || num >= len(r.xref) || r.xref[num].kind() != e.kind() || r.xref[num].off != e.off {
			return malformed("update: the entry of object %d does not match the document", num)
		}
	}
	return nil
}

// sameValue compares two trailer values (references, or anything by its serialisation).
func sameValue(a, b Object) bool {
	return bytes.Equal(Append(nil, a), Append(nil, b))
}
