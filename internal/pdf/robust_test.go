package pdf_test

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trifirma/trifirma/internal/pdf"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
)

const (
	robustCatalog = "<</Type/Catalog/Pages 2 0 R>>"
	robustPages   = "<</Type/Pages/Kids[3 0 R]/Count 1>>"
	robustPage    = "<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>"
	robustContent = "<</Length 21>>\nstream\nBT (hola) Tj ET     \nendstream"
)

func robustDoc(objs ...string) []byte {
	base := []string{robustCatalog, robustPages, robustPage, robustContent}
	for i, o := range objs {
		if o != "" {
			base[i] = o
		}
	}
	return pdftest.Raw(base, "")
}

// appendSection appends an incremental section: xref text (subsections), a trailer with extra
// entries and /Prev set to prev (or to the new section itself when prev < 0).
func appendSection(doc []byte, xref, extra string, prev int) []byte {
	b := bytes.Clone(doc)
	off := len(b)
	if prev < 0 {
		prev = off
	}
	b = fmt.Appendf(b, "xref\n%strailer\n<</Size 5/Root 1 0 R/Prev %d%s>>\nstartxref\n%d\n%%%%EOF\n", xref, prev, extra, off)
	return b
}

func lastStartXRef(doc []byte) int {
	i := bytes.LastIndex(doc, []byte("startxref"))
	n, _ := strconv.Atoi(strings.Fields(string(doc[i+9:]))[0])
	return n
}

// xrefStreamDoc writes objs (1-based bodies; an empty body: the object lives in an object
// stream and its entry is given by compressed) followed by an uncompressed xref stream.
func xrefStreamDoc(objs []string, compressed map[int][2]int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offs := map[int]int{}
	for i, body := range objs {
		if body == "" {
			continue
		}
		offs[i+1] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	self := len(objs) + 1
	offs[self] = b.Len()
	var data []byte
	for num := 0; num <= self; num++ {
		switch {
		case num == 0:
			data = append(data, 0, 0, 0, 0, 0, 0xff, 0xff)
		case compressed[num] != [2]int{}:
			c := compressed[num]
			data = append(data, 2, 0, 0, byte(c[0]>>8), byte(c[0]), 0, byte(c[1]))
		default:
			o := offs[num]
			data = append(data, 1, byte(o>>24), byte(o>>16), byte(o>>8), byte(o), 0, 0)
		}
	}
	fmt.Fprintf(&b, "%d 0 obj\n<</Type/XRef/Size %d/W[1 4 2]/Root 1 0 R/Length %d>>\nstream\n", self, self+1, len(data))
	b.Write(data)
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", offs[self])
	return b.Bytes()
}

func deflate(data []byte) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// exercise opens b and does what the signer does with a document: count and find pages, walk
// them, read objects and their streams, write an update and verify it.
func exercise(b []byte) (*pdf.Reader, error) {
	r, err := pdf.OpenBytes(ctx, b, &pdf.Options{AllowEmptyPassword: true})
	if err != nil {
		return nil, err
	}
	n, err := r.PageCount(ctx)
	if err != nil {
		return r, err
	}
	if _, err := r.Page(ctx, n); err != nil {
		return r, err
	}
	if _, err := r.Pages(ctx); err != nil {
		return r, err
	}
	for num := 1; num <= r.MaxObjNum() && num < 100; num++ {
		o, err := r.Object(num)
		if err != nil {
			return r, err
		}
		if s, ok := o.(*pdf.Stream); ok {
			if _, err := r.DecodeStream(s, 16<<20); err != nil {
				return r, err
			}
		}
	}
	cat, catRef, err := r.Catalog()
	if err != nil {
		return r, err
	}
	u := r.NewUpdate()
	nc := cat.Clone()
	nc.Set("Robust", u.Add(pdf.NewDict("A", int64(1))))
	u.Set(catRef, nc)
	upd, _, err := u.Bytes(pdf.WriteOptions{})
	if err != nil {
		return r, err
	}
	if err := r.VerifyUpdate(ctx, upd); err != nil {
		return r, fmt.Errorf("update does not verify: %w", err)
	}
	return r, nil
}

// TestPathological bounds the time and memory the reader spends on hostile structures: each
// input fails quickly with a precise error, or is read (repaired where the cross-reference is
// broken) within the same bounds.
func TestPathological(t *testing.T) {
	deep := func(open, close string, n int) string {
		return "<</Type/Catalog/Pages 2 0 R/X " + strings.Repeat(open, n) + strings.Repeat(close, n) + ">>"
	}
	var manyKeys strings.Builder
	manyKeys.WriteString("<</Type/Catalog/Pages 2 0 R")
	for i := 0; i < 300000; i++ {
		fmt.Fprintf(&manyKeys, "/K%d %d", i, i)
	}
	manyKeys.WriteString(">>")
	var deepTree []string
	deepTree = append(deepTree, robustCatalog)
	const levels = 3000
	for i := 0; i < levels; i++ {
		deepTree = append(deepTree, fmt.Sprintf("<</Type/Pages/Kids[%d 0 R]/Count 1>>", i+3))
	}
	deepTree = append(deepTree, fmt.Sprintf("<</Type/Page/Parent %d 0 R/MediaBox[0 0 612 792]>>", levels+1))
	var chain []string
	chain = append(chain, "<</Type/Catalog/Pages 2 0 R/X 5 0 R>>", robustPages, robustPage, robustContent)
	for i := 0; i < 100; i++ {
		chain = append(chain, fmt.Sprintf("%d 0 R", i+6))
	}
	chain = append(chain, "null")
	base := robustDoc()
	bomb := deflate(make([]byte, 40<<20))
	objStmHeader := "2 0 "
	objStmBody := objStmHeader + "<</Type/Pages/Kids[3 0 R]/Count 1>>"

	for _, c := range []struct {
		name string
		doc  []byte
		// want is a substring of the error; "" means the document must be read (repaired:
		// the reason must contain repair).
		want, repair string
	}{
		{name: "nested arrays", doc: robustDoc(deep("[", "]", 200000)), want: "nested deeper than"},
		{name: "nested dictionaries", doc: robustDoc(deep("<</A ", ">>", 200000)), want: "nested deeper than"},
		{name: "nested arrays in a page", doc: robustDoc("", "", "<</Type/Page/Parent 2 0 R/Annots "+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+">>"), want: "nested deeper than"},
		{name: "300,000 dictionary keys", doc: robustDoc(manyKeys.String())},
		{name: "huge trailer /Size", doc: pdftest.Raw([]string{robustCatalog, robustPages, robustPage, robustContent}, "/Size 99999999999")},
		{name: "trailer /Size at the PDF limit", doc: pdftest.Raw([]string{robustCatalog, robustPages, robustPage, robustContent}, "/Size 8388607")},
		{name: "implausible object number", doc: appendSection(base, "8388000 1\n0000000009 00000 n \n", "", lastStartXRef(base)), repair: "implausible"},
		{name: "xref /Prev loop to itself", doc: appendSection(base, "0 1\n0000000000 65535 f \n", "", -1), repair: "loops"},
		{name: "xref /Prev loop between two sections", doc: func() []byte {
			one := appendSection(base, "0 1\n0000000000 65535 f \n", "", 1000000)
			// Point the first appended section's /Prev (same width) at the second.
			second := len(one)
			one = bytes.Replace(one, []byte("/Prev 1000000"), []byte(fmt.Sprintf("/Prev %07d", second)), 1)
			return appendSection(one, "0 1\n0000000000 65535 f \n", "", lastStartXRef(one))
		}(), repair: "loops"},
		{name: "object streams inside each other", doc: xrefStreamDoc([]string{robustCatalog, "", robustPage, robustContent, "", ""},
			map[int][2]int{2: {5, 0}, 5: {6, 0}, 6: {5, 0}}), want: "page tree root 2 is not a dictionary"},
		{name: "object stream whose /Length is inside it", doc: xrefStreamDoc([]string{robustCatalog, "", robustPage, robustContent,
			fmt.Sprintf("<</Type/ObjStm/N 2/First %d/Length 6 0 R>>\nstream\n%s\nendstream", len(objStmHeader)+4, "2 0 6 36 <</Type/Pages/Kids[3 0 R]/Count 1>> 9"), ""},
			map[int][2]int{2: {5, 0}, 6: {5, 1}})},
		{name: "object stream bomb", doc: xrefStreamDoc([]string{robustCatalog, "", robustPage, robustContent,
			fmt.Sprintf("<</Type/ObjStm/N 1/First %d/Filter/FlateDecode/Length %d>>\nstream\n", len(objStmHeader), len(bomb)) + string(bomb) + "\nendstream"},
			map[int][2]int{2: {5, 0}}), want: "exceeds"},
		{name: "enormous /Length", doc: robustDoc("", "", "", "<</Length 99999999999999>>\nstream\nBT (hola) Tj ET\nendstream")},
		{name: "negative /Length", doc: robustDoc("", "", "", "<</Length -40>>\nstream\nBT (hola) Tj ET\nendstream")},
		{name: "stream without endstream", doc: robustDoc("", "", "", "<</Length 99999999>>\nstream\nBT (hola) Tj ET"), want: "has no endstream"},
		{name: "page tree cycle", doc: robustDoc("", "<</Type/Pages/Kids[3 0 R 2 0 R]/Count 2>>"), want: "cycle"},
		{name: "huge /Count", doc: robustDoc("", "<</Type/Pages/Kids[3 0 R]/Count 1000000>>"), want: "page 1000000 of a document of 1 pages"},
		{name: "page tree 3,000 levels deep", doc: pdftest.Raw(deepTree, ""), want: "deeper than"},
		{name: "reference chain", doc: pdftest.Raw(chain, "")},
		{name: "objStm body", doc: xrefStreamDoc([]string{robustCatalog, "", robustPage, robustContent,
			fmt.Sprintf("<</Type/ObjStm/N 1/First %d/Length %d>>\nstream\n%s\nendstream", len(objStmHeader), len(objStmBody), objStmBody)},
			map[int][2]int{2: {5, 0}})},
	} {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			r, err := exercise(c.doc)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if took > 3*time.Second {
				t.Errorf("took %v", took)
			}
			// Linear in the input (a few hundred bytes per parsed key or entry at most).
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20+uint64(len(c.doc))*48 {
				t.Errorf("allocated %d MB for a %d-byte document", alloc>>20, len(c.doc))
			}
			switch {
			case c.want != "":
				if err == nil {
					t.Fatalf("read without error, want %q", c.want)
				}
				if !errors.Is(err, pdf.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %q, want one wrapping ErrMalformed containing %q", err, c.want)
				}
			case err != nil:
				t.Fatalf("not read: %v", err)
			case c.repair != "":
				if rep, why := r.Repaired(); !rep || !strings.Contains(why, c.repair) {
					t.Fatalf("repaired=%v (%q), want a repair because of %q", rep, why, c.repair)
				}
			}
			t.Logf("%v, %d bytes: %v", took.Round(time.Millisecond), len(c.doc), err)
		})
	}
}
