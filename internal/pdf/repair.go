package pdf

import (
	"bytes"
	"context"
)

// repair rebuilds the cross-reference by scanning the whole file for object headers and
// trailers. The reason is kept for [Reader.Repaired].
func (r *Reader) repair(ctx context.Context, reason string) error {
	r.xref = nil
	r.cache = map[int]Object{}
	r.objStms = map[int]*objStm{}
	r.resolving = map[int]bool{}
	r.crypt = nil
	r.implausible = 0
	r.hybrid = false
	r.repaired = true
	r.repairMsg = reason
	var trailers []*Dict
	var xrefDicts []*Dict
	var objStms []int
	var catalogs []int
	const chunk = 1 << 20
	pos := int64(0)
	for pos < r.size {
		if err := ctx.Err(); err != nil {
			return err
		}
		w, err := r.window(pos, chunk+64)
		if err != nil {
			return err
		}
		limit := len(w)
		if int64(len(w)) == chunk+64 {
			limit = chunk
		}
		next := pos + int64(limit)
		i := 0
		for i < limit {
			j := indexAny2(w[i:limit])
			if j < 0 {
				break
			}
			i += j
			switch {
			case bytes.HasPrefix(w[i:], []byte("obj")) && (i+3 >= len(w) || !isRegular(w[i+3])):
				num, gen, hs, ok := headerBefore(w, i)
				if !ok {
					i += 3
					continue
				}
				hdrOff := pos + int64(hs)
				_, _, obj, perr := r.parseIndirectAt(hdrOff, num, nil)
				if perr != nil {
					i += 3
					continue
				}
				r.setEntry(num, entry{typ: 1, gen: uint16(gen), off: hdrOff}, true)
				skip := int64(i + 3)
				if s, ok := obj.(*Stream); ok {
					t, _ := s.Dict.Get("Type").(Name)
					switch t {
					case "ObjStm":
						objStms = append(objStms, num)
					case "XRef":
						xrefDicts = append(xrefDicts, s.Dict)
					}
					// Continue after the stream data so that text inside it is not taken
					// for object headers.
					if end := r.streamEnd(s, hdrOff); end > pos+skip {
						skip = end - pos
					}
				} else if d, ok := obj.(*Dict); ok {
					if t, _ := d.Get("Type").(Name); t == "Catalog" {
						catalogs = append(catalogs, num)
					}
				}
				if skip >= int64(limit) {
					next = pos + skip
					i = limit
					continue
				}
				i = int(skip)
			case bytes.HasPrefix(w[i:], []byte("trailer")):
				l := &lexer{b: w[i+7:], base: pos + int64(i+7)}
				if o, err := l.object(0); err == nil {
					if d, ok := o.(*Dict); ok {
						trailers = append(trailers, d)
					}
				}
				i += 7
			default:
				i++
			}
		}
		if next <= pos {
			next = pos + chunk
		}
		pos = next
	}
	// Objects in object streams fill what the file does not define directly.
	for _, sn := range objStms {
		os, err := r.loadObjStm(sn)
		if err != nil {
			continue
		}
		for k, num := range os.nums {
			if num > 0 && num <= maxObjNum && (num >= len(r.xref) || r.xref[num].kind() == 0) {
				r.setEntry(num, entry{typ: 2, off: int64(sn), idx: int32(k)}, true)
			}
		}
	}
	r.cache = map[int]Object{}
	r.objStms = map[int]*objStm{}
	// Rebuild the trailer: the last one (classic or stream) naming a catalog that exists.
	t := &Dict{}
	cands := append(append([]*Dict{}, xrefDicts...), trailers...)
	for k := len(cands) - 1; k >= 0; k-- {
		c := cands[k]
		if root, ok := c.Get("Root").(Ref); ok && r.HasObject(root.Num) && !t.Has("Root") {
			t.Set("Root", root)
		}
		for _, key := range []Name{"Info", "ID", "Encrypt"} {
			if !t.Has(key) && c.Has(key) {
				t.Set(key, c.Get(key))
			}
		}
	}
	if !t.Has("Root") && len(catalogs) > 0 {
		n := catalogs[len(catalogs)-1]
		t.Set("Root", Ref{n, r.Gen(n)})
	}
	if !t.Has("Root") {
		return malformed("no document catalog found while scanning the file")
	}
	t.Set("Size", int64(len(r.xref)))
	r.trailer = t
	r.form = XRefTable
	for n := range r.xref {
		if r.xref[n].kind() == 2 {
			r.form = XRefStream
			break
		}
	}
	r.startxref = 0
	return nil
}

// indexAny2 finds the next 'o' or 't' that may start "obj" or "trailer".
func indexAny2(b []byte) int {
	for i, c := range b {
		if c == 'o' || c == 't' {
			return i
		}
	}
	return -1
}

// headerBefore parses "num gen " immediately before position i (where "obj" starts).
func headerBefore(w []byte, i int) (num, gen, start int, ok bool) {
	j := i - 1
	if j < 0 || !isWS(w[j]) {
		return
	}
	for j >= 0 && isWS(w[j]) {
		j--
	}
	ge := j + 1
	for j >= 0 && w[j] >= '0' && w[j] <= '9' {
		j--
	}
	gs := j + 1
	if gs == ge || ge-gs > 5 || j < 0 || !isWS(w[j]) {
		return
	}
	for j >= 0 && isWS(w[j]) {
		j--
	}
	ne := j + 1
	for j >= 0 && w[j] >= '0' && w[j] <= '9' {
		j--
	}
	ns := j + 1
	if ns == ne || ne-ns > 7 {
		return
	}
	if j >= 0 && isRegular(w[j]) {
		return
	}
	n, _ := parseUint(w[ns:ne])
	g, _ := parseUint(w[gs:ge])
	if n <= 0 || n > maxObjNum || g > 65535 {
		return
	}
	return int(n), int(g), ns, true
}

// streamEnd returns the offset just after the stream data of s, parsed at hdrOff.
func (r *Reader) streamEnd(s *Stream, hdrOff int64) int64 {
	if r.data == nil || len(s.Data) == 0 {
		return 0
	}
	// s.Data is a sub-slice of r.data for memory-backed files.
	off := r.shift + int64(cap(r.data)-cap(s.Data))
	if off < hdrOff || off > r.size {
		return 0
	}
	return off + int64(len(s.Data))
}
