package pdf_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/trifirma/trifirma/internal/pdf"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
)

// pageTree is a two-level tree with inherited boxes and rotation; counts is the /Count of the
// inner nodes (right: 2 2).
func pageTree(counts [2]int) []byte {
	return pdftest.Raw([]string{
		"<</Type/Catalog/Pages 2 0 R>>",
		"<</Type/Pages/Kids[3 0 R 6 0 R 9 0 R]/Count 5/MediaBox[0 0 100 100]/Rotate 90>>",
		fmt.Sprintf("<</Type/Pages/Parent 2 0 R/Kids[4 0 R 5 0 R]/Count %d>>", counts[0]),
		"<</Type/Page/Parent 3 0 R>>",
		"<</Type/Page/Parent 3 0 R/Rotate 0>>",
		fmt.Sprintf("<</Type/Pages/Parent 2 0 R/Kids[7 0 R 8 0 R]/Count %d/MediaBox[0 0 200 200]>>", counts[1]),
		"<</Type/Page/Parent 6 0 R>>",
		"<</Type/Page/Parent 6 0 R/CropBox[10 10 50 50]/Rotate -90>>",
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 300]>>",
	}, "")
}

// TestPageByNumber: Page(n) finds the same page, with the same inherited attributes, as the
// full walk, through right counts and (by falling back to the walk) wrong ones.
func TestPageByNumber(t *testing.T) {
	for _, counts := range [][2]int{{2, 2}, {7, 2}, {2, 0}, {1, 1}} {
		r, err := pdf.OpenBytes(ctx, pageTree(counts), nil)
		if err != nil {
			t.Fatal(err)
		}
		all, err := r.Pages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 5 {
			t.Fatalf("%d pages, want 5", len(all))
		}
		if n, err := r.PageCount(ctx); err != nil || n != 5 {
			t.Fatalf("PageCount = %d, %v", n, err)
		}
		for i, want := range all {
			got, err := r.Page(ctx, i+1)
			if err != nil {
				t.Fatalf("counts %v, page %d: %v", counts, i+1, err)
			}
			if got.Ref != want.Ref || got.MediaBox != want.MediaBox || got.CropBox != want.CropBox || got.Rotate != want.Rotate {
				t.Fatalf("counts %v, page %d: %+v, want %+v", counts, i+1, got, want)
			}
		}
		if _, err := r.Page(ctx, 6); !errors.Is(err, pdf.ErrMalformed) {
			t.Fatalf("page 6 of 5: %v", err)
		}
	}
	// Spot-check the inheritance itself.
	r, _ := pdf.OpenBytes(ctx, pageTree([2]int{2, 2}), nil)
	want := []struct {
		media  pdf.Rect
		rotate int
	}{{pdf.Rect{0, 0, 100, 100}, 90}, {pdf.Rect{0, 0, 100, 100}, 0}, {pdf.Rect{0, 0, 200, 200}, 90}, {pdf.Rect{0, 0, 200, 200}, 270}, {pdf.Rect{0, 0, 300, 300}, 90}}
	for i, w := range want {
		p, _ := r.Page(ctx, i+1)
		if p.MediaBox != w.media || p.Rotate != w.rotate {
			t.Fatalf("page %d: %v rotate %d, want %v rotate %d", i+1, p.MediaBox, p.Rotate, w.media, w.rotate)
		}
	}
	if p, _ := r.Page(ctx, 4); p.CropBox != (pdf.Rect{10, 10, 50, 50}) {
		t.Fatalf("page 4 crop box %v", p.CropBox)
	}
}

// TestVerifyUpdate: an update as written verifies; one whose cross-reference, trailer or
// startxref was damaged does not.
func TestVerifyUpdate(t *testing.T) {
	for _, o := range []pdftest.Options{{}, {XRef: pdftest.Stream, ObjStm: true}, {XRef: pdftest.Hybrid, ObjStm: true}} {
		doc := pdftest.Build(o)
		r, err := pdf.OpenBytes(ctx, doc, nil)
		if err != nil {
			t.Fatal(err)
		}
		upd, _ := addInfo(t, r, "verify")
		if err := r.VerifyUpdate(ctx, upd); err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		if r.XRefForm() != pdf.XRefTable {
			continue // the damage below edits a classic table
		}
		for _, c := range []struct {
			name      string
			from, to  string
			wantError string
		}{
			{"entry moved", " 00000 n", " 00000 n", ""}, // placeholder replaced below
			{"prev", "/Prev ", "/Prev 1", "/Prev"},
			{"root", "/Root 1 0 R", "/Root 2 0 R", "/Root"},
			{"startxref", "startxref\n", "startxref\n1", "startxref"},
		} {
			bad := bytes.Clone(upd)
			if c.name == "entry moved" {
				// Shift the offset of the first new object by one byte.
				i := bytes.Index(bad, []byte(" 00000 n"))
				j := i - 1
				bad[j] = bad[j] + 1
				if bad[j] > '9' {
					bad[j] = '0'
				}
				c.wantError = "does not point at its header"
			} else {
				bad = bytes.Replace(bad, []byte(c.from), []byte(c.to), 1)
			}
			err := r.VerifyUpdate(ctx, bad)
			if err == nil || !strings.Contains(err.Error(), c.wantError) {
				t.Errorf("%s: %v, want an error about %q", c.name, err, c.wantError)
			}
		}
	}
}

var _ = reflect.DeepEqual
