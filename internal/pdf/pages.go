package pdf

import (
	"context"
	"fmt"
)

// maxPages bounds the page tree walk.
const maxPages = 1 << 20

// Rect is a rectangle [llx lly urx ury], normalised so that ll < ur.
type Rect [4]float64

// Width returns the width.
func (r Rect) Width() float64 { return r[2] - r[0] }

// Height returns the height.
func (r Rect) Height() float64 { return r[3] - r[1] }

// Page is a page of the document with its inherited attributes resolved.
type Page struct {
	Ref      Ref
	Dict     *Dict
	MediaBox Rect
	CropBox  Rect // MediaBox when absent
	Rotate   int  // 0, 90, 180 or 270
}

// ParseRect reads a rectangle array.
func (r *Reader) ParseRect(o Object) (Rect, bool) {
	a := r.GetArray(o)
	if len(a) != 4 {
		return Rect{}, false
	}
	var v [4]float64
	for i := range a {
		f, ok := Number(r.mustResolve(a[i]))
		if !ok {
			return Rect{}, false
		}
		v[i] = f
	}
	if v[0] > v[2] {
		v[0], v[2] = v[2], v[0]
	}
	if v[1] > v[3] {
		v[1], v[3] = v[3], v[1]
	}
	return Rect(v), true
}

// Pages walks the page tree and returns every page in order.
func (r *Reader) Pages(ctx context.Context) ([]Page, error) {
	cat, _, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	root, ok := cat.Get("Pages").(Ref)
	if !ok {
		return nil, malformed("the catalog has no /Pages reference")
	}
	var pages []Page
	visited := map[int]bool{}
	type inh struct {
		media, crop *Rect
		rotate      *int
	}
	var walk func(ref Ref, in inh, depth int) error
	walk = func(ref Ref, in inh, depth int) error {
		if depth > maxDepth {
			return malformed("page tree deeper than %d levels", maxDepth)
		}
		if visited[ref.Num] {
			return malformed("page tree contains a cycle at object %d", ref.Num)
		}
		visited[ref.Num] = true
		if len(pages) > maxPages {
			return malformed("more than %d pages", maxPages)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		o, err := r.Object(ref.Num)
		if err != nil {
			return err
		}
		d, ok := o.(*Dict)
		if !ok {
			return malformed("page tree node %d is not a dictionary", ref.Num)
		}
		if mb, ok := r.ParseRect(d.Get("MediaBox")); ok {
			in.media = &mb
		}
		if cb, ok := r.ParseRect(d.Get("CropBox")); ok {
			in.crop = &cb
		}
		if rv, ok := Int(r.mustResolve(d.Get("Rotate"))); ok {
			rot := int(((rv%360)+360)%360) / 90 * 90
			in.rotate = &rot
		}
		t, _ := d.Get("Type").(Name)
		kids := r.GetArray(d.Get("Kids"))
		if t == "Page" || (t != "Pages" && kids == nil) {
			p := Page{Ref: ref, Dict: d, MediaBox: Rect{0, 0, 612, 792}}
			if in.media != nil {
				p.MediaBox = *in.media
			}
			p.CropBox = p.MediaBox
			if in.crop != nil {
				p.CropBox = intersect(*in.crop, p.MediaBox)
			}
			if in.rotate != nil {
				p.Rotate = *in.rotate
			}
			pages = append(pages, p)
			return nil
		}
		for _, k := range kids {
			kr, ok := k.(Ref)
			if !ok {
				return malformed("page tree node %d has a direct kid", ref.Num)
			}
			if err := walk(kr, in, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, inh{}, 0); err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("%w: the document has no pages", ErrMalformed)
	}
	return pages, nil
}

func intersect(a, b Rect) Rect {
	r := Rect{max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])}
	if r[0] >= r[2] || r[1] >= r[3] {
		return b
	}
	return r
}
