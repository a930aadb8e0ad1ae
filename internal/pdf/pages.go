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
	var walk func(ref Ref, in inherited, depth int) error
	walk = func(ref Ref, in inherited, depth int) error {
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
		in = r.inherit(d, in)
		if r.isLeaf(d) {
			pages = append(pages, makePage(ref, d, in))
			return nil
		}
		for _, k := range r.GetArray(d.Get("Kids")) {
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
	if err := walk(root, inherited{}, 0); err != nil {
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

// inherited holds the page attributes inherited down the page tree.
type inherited struct {
	media, crop *Rect
	rotate      *int
}

// inherit reads the inheritable attributes of node d over in.
func (r *Reader) inherit(d *Dict, in inherited) inherited {
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
	return in
}

func makePage(ref Ref, d *Dict, in inherited) Page {
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
	return p
}

func (r *Reader) pageRoot() (Ref, *Dict, error) {
	cat, _, err := r.Catalog()
	if err != nil {
		return Ref{}, nil, err
	}
	root, ok := cat.Get("Pages").(Ref)
	if !ok {
		return Ref{}, nil, malformed("the catalog has no /Pages reference")
	}
	o, err := r.Object(root.Num)
	if err != nil {
		return Ref{}, nil, err
	}
	d, ok := o.(*Dict)
	if !ok {
		return Ref{}, nil, malformed("page tree root %d is not a dictionary", root.Num)
	}
	return root, d, nil
}

// isLeaf reports whether page tree node d is a page (not an intermediate node).
func (r *Reader) isLeaf(d *Dict) bool {
	t, _ := d.Get("Type").(Name)
	return t == "Page" || (t != "Pages" && r.GetArray(d.Get("Kids")) == nil)
}

// PageCount returns the number of pages as the page tree root's /Count says, without walking
// the tree; when the count is missing or not plausible it walks the tree.
func (r *Reader) PageCount(ctx context.Context) (int, error) {
	_, d, err := r.pageRoot()
	if err != nil {
		return 0, err
	}
	if r.isLeaf(d) {
		return 1, nil
	}
	if n, ok := Int(r.mustResolve(d.Get("Count"))); ok && n > 0 && n <= maxPages {
		return int(n), nil
	}
	pages, err := r.Pages(ctx)
	if err != nil {
		return 0, err
	}
	return len(pages), nil
}

// Page returns page n (numbered from 1), descending the page tree guided by the /Count of its
// nodes (as viewers do) so that only the nodes on the way and their kids are read; a node
// with as many kids as pages is taken to hold pages only, and its kid n read alone. When the
// counts do not add up it falls back to walking the whole tree.
func (r *Reader) Page(ctx context.Context, n int) (Page, error) {
	if n < 1 {
		return Page{}, fmt.Errorf("%w: page %d (pages are numbered from 1)", ErrMalformed, n)
	}
	if p, ok, err := r.pageByCount(ctx, n); err != nil || ok {
		return p, err
	}
	pages, err := r.Pages(ctx)
	if err != nil {
		return Page{}, err
	}
	if n > len(pages) {
		return Page{}, fmt.Errorf("%w: page %d of a document of %d pages", ErrMalformed, n, len(pages))
	}
	return pages[n-1], nil
}

// pageByCount finds page n through the /Count entries; ok is false when the tree's counts do
// not lead to it (the caller then walks the tree).
func (r *Reader) pageByCount(ctx context.Context, n int) (Page, bool, error) {
	ref, d, err := r.pageRoot()
	if err != nil {
		return Page{}, false, err
	}
	in := inherited{}
	onPath := map[int]bool{}
	for depth := 0; depth <= maxDepth; depth++ {
		if err := ctx.Err(); err != nil {
			return Page{}, false, err
		}
		if onPath[ref.Num] {
			return Page{}, false, nil
		}
		onPath[ref.Num] = true
		in = r.inherit(d, in)
		if r.isLeaf(d) {
			if n == 1 {
				return makePage(ref, d, in), true, nil
			}
			return Page{}, false, nil
		}
		kids := r.GetArray(d.Get("Kids"))
		count, _ := Int(r.mustResolve(d.Get("Count")))
		if int64(n) > count {
			return Page{}, false, nil
		}
		next := -1
		var nd *Dict
		if count == int64(len(kids)) {
			// As many kids as pages: every kid is a page.
			next = n - 1
		}
		if next < 0 {
			// Find the kid holding page n, and check that the kids' counts add up to this
			// node's (a tree whose counts lie is walked instead).
			total := int64(0)
			for i := 0; i < len(kids); i++ {
				if i%64 == 63 {
					if err := ctx.Err(); err != nil {
						return Page{}, false, err
					}
				}
				kd := r.GetDict(kids[i])
				if kd == nil {
					return Page{}, false, nil
				}
				c := int64(1)
				if !r.isLeaf(kd) {
					v, ok := Int(r.mustResolve(kd.Get("Count")))
					if !ok || v < 0 || v > maxPages {
						return Page{}, false, nil
					}
					c = v
				}
				if next < 0 && int64(n) <= total+c {
					next, nd = i, kd
					n -= int(total)
				}
				total += c
			}
			if total != count {
				return Page{}, false, nil
			}
		}
		if next < 0 || next >= len(kids) {
			return Page{}, false, nil
		}
		kr, ok := kids[next].(Ref)
		if !ok {
			return Page{}, false, nil
		}
		if nd == nil {
			if nd = r.GetDict(kr); nd == nil {
				return Page{}, false, nil
			}
			if count == int64(len(kids)) && !r.isLeaf(nd) {
				// The shortcut assumed a page; this kid is a node: count properly.
				return Page{}, false, nil
			}
			n = 1
		}
		ref, d = kr, nd
	}
	return Page{}, false, nil
}
