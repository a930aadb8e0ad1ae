// Package pdftest builds small synthetic PDF documents for tests: classic tables, xref
// streams, object streams, hybrid files, any end-of-line convention, rotated pages, forms
// and padding to reach a given size.
package pdftest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strconv"
	"strings"
)

// XRef is the cross-reference form of a generated file.
type XRef int

// The forms Build can write.
const (
	Table  XRef = iota // classic table
	Stream             // cross-reference stream
	Hybrid             // classic table with /XRefStm (compressed objects only in the stream)
)

// Options describe a document.
type Options struct {
	Pages int // default 1
	XRef  XRef
	// ObjStm puts the catalog, the page tree and the page dictionaries into an object stream
	// (needs Stream or Hybrid).
	ObjStm bool
	// EOL is the end-of-line used everywhere ("\n" when empty).
	EOL string
	// Rotate is every page's /Rotate.
	Rotate int
	// Form adds an AcroForm with a filled text field named "name".
	Form bool
	// EmptySigField adds an empty signature field "Firma1" with a widget on page 1.
	EmptySigField bool
	// Padding adds an uncompressed stream of that many bytes (to build large files).
	Padding int
	// NoFinalEOL leaves no end-of-line after %%EOF.
	NoFinalEOL bool
	// Version is the header version ("1.7" when empty).
	Version string
}

type obj struct {
	num  int
	body []byte // dictionary or other object
	data []byte // stream data (nil: not a stream)
}

// Build returns the document.
func Build(o Options) []byte {
	if o.Pages <= 0 {
		o.Pages = 1
	}
	eol := o.EOL
	if eol == "" {
		eol = "\n"
	}
	ver := o.Version
	if ver == "" {
		ver = "1.7"
	}
	var objs []obj
	n := 0
	add := func(body string, data []byte) int {
		n++
		objs = append(objs, obj{num: n, body: []byte(body), data: data})
		return n
	}
	catalog := add("", nil)
	pagesN := add("", nil)
	font := add("<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>", nil)
	var kids []string
	var pageNums []int
	for i := 0; i < o.Pages; i++ {
		content := fmt.Sprintf("BT /F1 24 Tf 72 720 Td (Page %d of %d) Tj ET", i+1, o.Pages)
		c := add("<<>>", []byte(content))
		p := add("", nil)
		pageNums = append(pageNums, p)
		rot := ""
		if o.Rotate != 0 {
			rot = "/Rotate " + strconv.Itoa(o.Rotate)
		}
		objs[p-1].body = []byte(fmt.Sprintf("<</Type/Page/Parent %d 0 R/MediaBox[0 0 595 842]%s/Resources<</Font<</F1 %d 0 R>>>>/Contents %d 0 R>>", pagesN, rot, font, c))
		kids = append(kids, fmt.Sprintf("%d 0 R", p))
	}
	objs[pagesN-1].body = []byte(fmt.Sprintf("<</Type/Pages/Kids[%s]/Count %d>>", strings.Join(kids, " "), o.Pages))
	cat := fmt.Sprintf("<</Type/Catalog/Pages %d 0 R", pagesN)
	var fields []string
	if o.Form {
		f := add(fmt.Sprintf("<</FT/Tx/T(name)/V(Juan Espa\\361ol)/Type/Annot/Subtype/Widget/Rect[72 600 300 620]/P %d 0 R/DA(/Helv 0 Tf 0 g)>>", pageNums[0]), nil)
		fields = append(fields, fmt.Sprintf("%d 0 R", f))
	}
	if o.EmptySigField {
		f := add(fmt.Sprintf("<</FT/Sig/T(Firma1)/Type/Annot/Subtype/Widget/F 4/Rect[300 100 500 160]/P %d 0 R>>", pageNums[0]), nil)
		fields = append(fields, fmt.Sprintf("%d 0 R", f))
	}
	if len(fields) > 0 {
		cat += fmt.Sprintf("/AcroForm<</Fields[%s]/DR<</Font<</Helv %d 0 R>>>>/DA(/Helv 0 Tf 0 g)>>", strings.Join(fields, " "), font)
		// Widgets are page annotations.
		p := &objs[pageNums[0]-1]
		p.body = append(p.body[:len(p.body)-2], []byte("/Annots["+strings.Join(fields, " ")+"]>>")...)
	}
	objs[catalog-1].body = []byte(cat + ">>")
	if o.Padding > 0 {
		pad := bytes.Repeat([]byte("% padding line of a synthetic test document ...\n"), o.Padding/48+1)[:o.Padding]
		add("<<>>", pad)
	}

	var b bytes.Buffer
	b.WriteString("%PDF-" + ver + eol + "%\xe2\xe3\xcf\xd3" + eol)
	offs := map[int]int{}
	compressed := map[int][2]int{} // num -> objstm, index
	write := func(ob obj) {
		offs[ob.num] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj%s", ob.num, eol)
		if ob.data != nil {
			d := ob.body[:len(ob.body)-2]
			fmt.Fprintf(&b, "%s/Length %d>>%sstream%s", d, len(ob.data), eol, "\r\n")
			b.Write(ob.data)
			b.WriteString(eol + "endstream" + eol)
		} else {
			b.Write(ob.body)
			b.WriteString(eol)
		}
		b.WriteString("endobj" + eol)
	}
	useStm := o.ObjStm && o.XRef != Table
	var inStm []obj
	for _, ob := range objs {
		if useStm && ob.data == nil {
			inStm = append(inStm, ob)
			continue
		}
		write(ob)
	}
	if useStm {
		var hdr, body bytes.Buffer
		stmNum := len(objs) + 1
		for i, ob := range inStm {
			fmt.Fprintf(&hdr, "%d %d ", ob.num, body.Len())
			body.Write(ob.body)
			body.WriteByte(' ')
			compressed[ob.num] = [2]int{stmNum, i}
		}
		data := append(hdr.Bytes(), body.Bytes()...)
		z := deflate(data)
		write(obj{num: stmNum, body: []byte(fmt.Sprintf("<</Type/ObjStm/N %d/First %d/Filter/FlateDecode>>", len(inStm), hdr.Len())), data: z})
	}
	size := len(objs) + 1
	if useStm {
		size++
	}
	root := fmt.Sprintf("%d 0 R", catalog)
	id := "[<0123456789ABCDEF0123456789ABCDEF><0123456789ABCDEF0123456789ABCDEF>]"
	switch o.XRef {
	case Table:
		xref := b.Len()
		writeTable(&b, offs, size, eol)
		fmt.Fprintf(&b, "trailer%s<</Size %d/Root %s/ID %s>>%sstartxref%s%d%s%%%%EOF", eol, size, root, id, eol, eol, xref, eol)
	case Stream:
		xnum := size
		size++
		xoff := b.Len()
		offs[xnum] = xoff
		data := xrefData(offs, compressed, size)
		fmt.Fprintf(&b, "%d 0 obj%s<</Type/XRef/Size %d/W[1 4 2]/Root %s/ID %s/Filter/FlateDecode/DecodeParms<</Predictor 12/Columns 7>>/Length %d>>%sstream\r\n", xnum, eol, size, root, id, len(data), eol)
		b.Write(data)
		fmt.Fprintf(&b, "%sendstream%sendobj%sstartxref%s%d%s%%%%EOF", eol, eol, eol, eol, xoff, eol)
	case Hybrid:
		xnum := size
		size++
		xoff := b.Len()
		// The stream indexes only the compressed objects (as real hybrid files do).
		lo, hi := size, 0
		for num := range compressed {
			lo, hi = min(lo, num), max(hi, num)
		}
		data := xrefDataRange(compressed, lo, hi+1)
		fmt.Fprintf(&b, "%d 0 obj%s<</Type/XRef/Size %d/Index[%d %d]/W[1 4 2]/Filter/FlateDecode/DecodeParms<</Predictor 12/Columns 7>>/Length %d>>%sstream\r\n", xnum, eol, size, lo, hi+1-lo, len(data), eol)
		b.Write(data)
		fmt.Fprintf(&b, "%sendstream%sendobj%s", eol, eol, eol)
		offs[xnum] = xoff
		xref := b.Len()
		writeTableSkipping(&b, offs, compressed, size, eol)
		fmt.Fprintf(&b, "trailer%s<</Size %d/Root %s/ID %s/XRefStm %d>>%sstartxref%s%d%s%%%%EOF", eol, size, root, id, xoff, eol, eol, xref, eol)
	}
	if !o.NoFinalEOL {
		b.WriteString(eol)
	}
	return b.Bytes()
}

func writeTable(b *bytes.Buffer, offs map[int]int, size int, eol string) {
	fmt.Fprintf(b, "xref%s0 %d%s", eol, size, eol)
	entryEOL := " \n"
	if eol == "\r\n" {
		entryEOL = "\r\n"
	} else if eol == "\r" {
		entryEOL = " \r"
	}
	b.WriteString("0000000000 65535 f" + entryEOL)
	for i := 1; i < size; i++ {
		if off, ok := offs[i]; ok {
			fmt.Fprintf(b, "%010d 00000 n%s", off, entryEOL)
		} else {
			fmt.Fprintf(b, "0000000000 00000 f%s", entryEOL)
		}
	}
}

// writeTableSkipping writes a table without entries for the compressed objects (the
// subsections skip them), as hybrid files made by word processors do.
func writeTableSkipping(b *bytes.Buffer, offs map[int]int, compressed map[int][2]int, size int, eol string) {
	entryEOL := " \n"
	if eol == "\r\n" {
		entryEOL = "\r\n"
	} else if eol == "\r" {
		entryEOL = " \r"
	}
	fmt.Fprintf(b, "xref%s", eol)
	for i := 0; i < size; {
		if _, c := compressed[i]; c {
			i++
			continue
		}
		j := i
		for j < size {
			if _, c := compressed[j]; c {
				break
			}
			j++
		}
		fmt.Fprintf(b, "%d %d%s", i, j-i, eol)
		for k := i; k < j; k++ {
			if off, ok := offs[k]; ok {
				fmt.Fprintf(b, "%010d 00000 n%s", off, entryEOL)
			} else if k == 0 {
				b.WriteString("0000000000 65535 f" + entryEOL)
			} else {
				fmt.Fprintf(b, "0000000000 00000 f%s", entryEOL)
			}
		}
		i = j
	}
}

// xrefDataRange encodes rows lo..hi-1 of compressed objects only.
func xrefDataRange(compressed map[int][2]int, lo, hi int) []byte {
	var raw []byte
	prev := make([]byte, 7)
	for i := lo; i < hi; i++ {
		row := make([]byte, 7)
		if c, ok := compressed[i]; ok {
			row[0] = 2
			row[1], row[2], row[3], row[4] = byte(c[0]>>24), byte(c[0]>>16), byte(c[0]>>8), byte(c[0])
			row[5], row[6] = byte(c[1]>>8), byte(c[1])
		}
		raw = append(raw, 2)
		for k := range row {
			raw = append(raw, row[k]-prev[k])
		}
		prev = row
	}
	return deflate(raw)
}

// xrefData encodes xref stream rows (W 1 4 2) with the PNG Up predictor, deflated.
func xrefData(offs map[int]int, compressed map[int][2]int, size int) []byte {
	var raw []byte
	prev := make([]byte, 7)
	for i := 0; i < size; i++ {
		row := make([]byte, 7)
		if off, ok := offs[i]; ok {
			row[0] = 1
			row[1], row[2], row[3], row[4] = byte(off>>24), byte(off>>16), byte(off>>8), byte(off)
		} else if c, ok := compressed[i]; ok {
			row[0] = 2
			row[1], row[2], row[3], row[4] = byte(c[0]>>24), byte(c[0]>>16), byte(c[0]>>8), byte(c[0])
			row[5], row[6] = byte(c[1]>>8), byte(c[1])
		} else if i == 0 {
			row[5], row[6] = 0xff, 0xff
		}
		raw = append(raw, 2)
		for k := range row {
			raw = append(raw, row[k]-prev[k])
		}
		prev = row
	}
	return deflate(raw)
}

func deflate(b []byte) []byte {
	var out bytes.Buffer
	w := zlib.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// Raw builds a document from literal object bodies: objs[i] is the text between
// "i+1 0 obj" and "endobj" (a stream body carries its own dictionary, "stream" and
// "endstream"). It writes a classic cross-reference table and a trailer with /Size and
// /Root 1 0 R followed by extra (e.g. "/Prev 9"); the entries are right, whatever the objects
// say, so that tests can aim hostile content at the parser rather than at the repair.
func Raw(objs []string, extra string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, body := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<</Size %d/Root 1 0 R%s>>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, extra, xref)
	return b.Bytes()
}
