package pades

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/pdf"
)

// editor applies changes to objects of the document, always on copies: the reader's objects
// stay untouched and every changed object is written once into the update.
type editor struct {
	r *pdf.Reader
	u *pdf.Update
}

// dict returns the current version of dictionary object ref (from the update when already
// changed there), as a copy the caller may modify and then Set.
func (e *editor) dict(ref pdf.Ref) *pdf.Dict {
	if o, ok := e.u.Get(ref.Num); ok {
		if d, ok := o.(*pdf.Dict); ok {
			return d
		}
	}
	d := e.r.GetDict(ref)
	if d == nil {
		return nil
	}
	return d.Clone()
}

func (e *editor) array(ref pdf.Ref) pdf.Array {
	if o, ok := e.u.Get(ref.Num); ok {
		if a, ok := o.(pdf.Array); ok {
			return a
		}
	}
	return append(pdf.Array(nil), e.r.GetArray(ref)...)
}

// appendTo adds v to the array value of key in d (direct or an indirect array object).
// It returns true when d itself changed.
func (e *editor) appendTo(d *pdf.Dict, key pdf.Name, v pdf.Object) bool {
	switch cur := d.Get(key).(type) {
	case pdf.Ref:
		if e.r.GetArray(cur) != nil || e.u.Changed(cur.Num) {
			e.u.Set(cur, append(e.array(cur), v))
			return false
		}
		d.Set(key, pdf.Array{v})
	case pdf.Array:
		d.Set(key, append(append(pdf.Array(nil), cur...), v))
	default:
		d.Set(key, pdf.Array{v})
	}
	return true
}

func (e *editor) addAnnot(page pdf.Ref, widget pdf.Ref) error {
	pd := e.dict(page)
	if pd == nil {
		return fmt.Errorf("%w: page object %d is not a dictionary", trifirma.ErrInvalidDocument, page.Num)
	}
	if e.appendTo(pd, "Annots", widget) {
		e.u.Set(page, pd)
	}
	return nil
}

// pageSpec resolves signaturePage(s) to 1-based page numbers; 0 stands for a new page.
func pageSpec(spec string, has bool, total int) ([]int, error) {
	spec = strings.ReplaceAll(strings.TrimSpace(spec), " ", "")
	if !has || spec == "" {
		return []int{total}, nil
	}
	parts := strings.Split(spec, ",")
	switch strings.ToLower(parts[0]) {
	case "append":
		return []int{0}, nil
	case "all":
		if total > maxPagesForAllPagesWidget {
			return nil, bad("signaturePage=all on a document of %d pages (at most %d)", total, maxPagesForAllPagesWidget)
		}
		out := make([]int, total)
		for i := range out {
			out[i] = i + 1
		}
		return out, nil
	}
	norm := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, bad("signaturePage %q is not a page number, a range, \"all\" or \"append\"", s)
		}
		if n < 0 {
			n += total + 1
		}
		if n < 1 || n > total {
			return 0, bad("signaturePage %s is out of range: the document has %d page(s) (numbered from 1; -1 is the last)", s, total)
		}
		return n, nil
	}
	seen := map[int]bool{}
	var out []int
	add := func(n int) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, p := range parts {
		if p == "" {
			continue
		}
		sep := strings.Index(p[1:], "-")
		if sep < 0 {
			n, err := norm(p)
			if err != nil {
				return nil, err
			}
			add(n)
			continue
		}
		sep++
		a, err := norm(p[:sep])
		if err != nil {
			return nil, err
		}
		b, err := norm(p[sep+1:])
		if err != nil {
			return nil, err
		}
		if b < a {
			return nil, bad("signaturePage range %q is reversed", p)
		}
		if b-a > maxPagesForAllPagesWidget {
			return nil, bad("signaturePage range %q is too long", p)
		}
		for n := a; n <= b; n++ {
			add(n)
		}
	}
	if len(out) == 0 {
		return []int{total}, nil
	}
	sortInts(out)
	return out, nil
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// visualBox returns the page box as the reader sees it (rotated).
func visualBox(p pdf.Page) pdf.Rect {
	mb := p.MediaBox
	if p.Rotate == 90 || p.Rotate == 270 {
		return pdf.Rect{mb[0], mb[1], mb[0] + mb.Height(), mb[1] + mb.Width()}
	}
	return mb
}

// toUserSpace maps a rectangle given in the page's visual (rotated) coordinates to the
// unrotated user space of the page, as the reference's iText stamper does.
func toUserSpace(p pdf.Page, r rect) pdf.Array {
	mb := p.MediaBox
	var x1, y1, x2, y2 float64
	switch p.Rotate {
	case 90: // shown turned clockwise: visual (vx, vy) = (y, W - x)
		x1, x2 = mb[2]-(r.ury-mb[1]), mb[2]-(r.lly-mb[1])
		y1, y2 = mb[1]+(r.llx-mb[0]), mb[1]+(r.urx-mb[0])
	case 180:
		x1, x2 = mb[2]-(r.urx-mb[0]), mb[2]-(r.llx-mb[0])
		y1, y2 = mb[3]-(r.ury-mb[1]), mb[3]-(r.lly-mb[1])
	case 270: // visual (vx, vy) = (H - y, x)
		x1, x2 = mb[0]+(r.lly-mb[1]), mb[0]+(r.ury-mb[1])
		y1, y2 = mb[3]-(r.urx-mb[0]), mb[3]-(r.llx-mb[0])
	default:
		x1, y1, x2, y2 = r.llx, r.lly, r.urx, r.ury
	}
	if x1 > x2 {
		x1, x2 = x2, x1
	}
	if y1 > y2 {
		y1, y2 = y2, y1
	}
	return pdf.Array{x1, y1, x2, y2}
}

// newField creates the signature field (and its widgets on the requested pages).
func (e *editor) newField(ctx context.Context, fields []*field, ps *pageSet, o *options, sigRef pdf.Ref, text string, img *jpegImage) (pdf.Ref, error) {
	name := uniqueFieldName(fields)
	type target struct {
		page pdf.Page
		r    rect
	}
	var targets []target
	if o.rect != nil {
		nums, err := pageSpec(o.pagesSpec, o.hasPagesSpec, ps.count())
		if err != nil {
			return pdf.Ref{}, err
		}
		page := func(n int) (pdf.Page, error) { return ps.get(n) }
		if len(nums) == 1 && nums[0] == 0 {
			first, err := ps.get(1)
			if err != nil {
				return pdf.Ref{}, err
			}
			np, err := e.appendPage(first)
			if err != nil {
				return pdf.Ref{}, err
			}
			nums[0] = ps.count() + 1
			page = func(int) (pdf.Page, error) { return np, nil }
		}
		rc := *o.rect
		if len(nums) > 8 {
			// Many pages: one walk of the tree is cheaper than a descent per page.
			if _, err := ps.list(); err != nil {
				return pdf.Ref{}, err
			}
		}
		var kept []pdf.Page
		for _, n := range nums {
			if n%64 == 0 {
				if err := ctx.Err(); err != nil {
					return pdf.Ref{}, err
				}
			}
			p, err := page(n)
			if err != nil {
				return pdf.Ref{}, err
			}
			vb := visualBox(p)
			if rc.llx >= vb[2] || rc.lly >= vb[3] || rc.urx <= vb[0] || rc.ury <= vb[1] {
				continue
			}
			kept = append(kept, p)
		}
		if len(kept) == 0 {
			p, err := page(nums[0])
			if err != nil {
				return pdf.Ref{}, err
			}
			vb := visualBox(p)
			return pdf.Ref{}, bad("the signature rectangle [%s %s %s %s] lies outside page %d (%s x %s points)",
				num(rc.llx), num(rc.lly), num(rc.urx), num(rc.ury), nums[0], num(vb.Width()), num(vb.Height()))
		}
		// As the reference: clip the top and right edges to the first page.
		vb := visualBox(kept[0])
		rc.urx = min(rc.urx, vb[2])
		rc.ury = min(rc.ury, vb[3])
		for _, p := range kept {
			targets = append(targets, target{p, rc})
		}
	}
	first, err := ps.get(1)
	if err != nil {
		return pdf.Ref{}, err
	}
	fieldDict := pdf.NewDict("FT", pdf.Name("Sig"), "T", pdf.String(pdfText(name)), "V", sigRef)
	widgetDict := func(t *target) *pdf.Dict {
		w := pdf.NewDict("Type", pdf.Name("Annot"), "Subtype", pdf.Name("Widget"), "F", int64(132))
		if t == nil {
			w.Set("Rect", pdf.Array{int64(0), int64(0), int64(0), int64(0)})
			w.Set("P", first.Ref)
			return w
		}
		w.Set("Rect", toUserSpace(t.page, t.r))
		w.Set("P", t.page.Ref)
		ap := appearance(e.u, t.r.urx-t.r.llx, t.r.ury-t.r.lly, t.page.Rotate, o, text, img)
		w.Set("AP", pdf.NewDict("N", ap))
		return w
	}
	var t *target
	annotPage := first.Ref
	if len(targets) > 0 {
		t = &targets[0]
		annotPage = t.page.Ref
	}
	w := widgetDict(t)
	for _, k := range fieldDict.Keys() {
		w.Set(k, fieldDict.Get(k))
	}
	ref := e.u.Add(w)
	if err := e.addAnnot(annotPage, ref); err != nil {
		return pdf.Ref{}, err
	}
	// On the other pages the same appearance is shown by locked, read-only stamp
	// annotations: a field with several widget kids is valid PDF, but common validators
	// (poppler's pdfsig among them) then report the signature as unsigned.
	aps := map[int]pdf.Object{}
	if t != nil {
		aps[t.page.Rotate] = w.Get("AP")
	}
	for i := 1; i < len(targets); i++ {
		if err := ctx.Err(); err != nil {
			return pdf.Ref{}, err
		}
		tg := &targets[i]
		ap, ok := aps[tg.page.Rotate]
		if !ok {
			ap = pdf.NewDict("N", appearance(e.u, tg.r.urx-tg.r.llx, tg.r.ury-tg.r.lly, tg.page.Rotate, o, text, img))
			aps[tg.page.Rotate] = ap
		}
		st := pdf.NewDict("Type", pdf.Name("Annot"), "Subtype", pdf.Name("Stamp"), "F", int64(196),
			"Rect", toUserSpace(tg.page, tg.r), "P", tg.page.Ref, "AP", ap,
			"Contents", pdf.String(pdfText("Firma "+name)))
		if err := e.addAnnot(tg.page.Ref, e.u.Add(st)); err != nil {
			return pdf.Ref{}, err
		}
	}
	return ref, nil
}

// appendPage adds a blank page with the size of page 1 at the end of the document.
func (e *editor) appendPage(first pdf.Page) (pdf.Page, error) {
	cat, _, err := e.r.Catalog()
	if err != nil {
		return pdf.Page{}, err
	}
	rootRef, ok := cat.Get("Pages").(pdf.Ref)
	if !ok {
		return pdf.Page{}, fmt.Errorf("%w: the catalog has no /Pages reference", trifirma.ErrInvalidDocument)
	}
	root := e.dict(rootRef)
	if root == nil {
		return pdf.Page{}, fmt.Errorf("%w: the page tree root is not a dictionary", trifirma.ErrInvalidDocument)
	}
	vb := visualBox(first)
	mb := pdf.Rect{0, 0, vb.Width(), vb.Height()}
	pd := pdf.NewDict("Type", pdf.Name("Page"), "Parent", rootRef,
		"MediaBox", pdf.Array{mb[0], mb[1], mb[2], mb[3]}, "Resources", pdf.NewDict())
	ref := e.u.Add(pd)
	if e.appendTo(root, "Kids", ref) {
		e.u.Set(rootRef, root)
	}
	count, _ := pdf.Int(e.r.Get(root, "Count"))
	root.Set("Count", count+1)
	e.u.Set(rootRef, root)
	return pdf.Page{Ref: ref, Dict: pd, MediaBox: mb, CropBox: mb}, nil
}

// signExistingField signs into the empty signature field named o.field.
func (e *editor) signExistingField(fields []*field, ps *pageSet, o *options, sigRef pdf.Ref, text string, img *jpegImage) error {
	var f *field
	for _, c := range fields {
		if c.name == o.field {
			f = c
			break
		}
	}
	if f == nil {
		return bad("%s=%q: the document has no form field with that name", ParamField, o.field)
	}
	if f.ft != "Sig" {
		return bad("%s=%q is a /%s field, not a signature field", ParamField, o.field, f.ft)
	}
	if f.dict.Get("V") != nil {
		return bad("%s=%q is already signed", ParamField, o.field)
	}
	if f.ref.Num == 0 {
		return fmt.Errorf("%w: signature field %q is a direct object and cannot be updated", trifirma.ErrInvalidDocument, o.field)
	}
	pages, err := ps.list()
	if err != nil {
		return err
	}
	pageOf := func(w *pdf.Dict, wref pdf.Ref) (pdf.Page, bool) {
		if pr, ok := w.Get("P").(pdf.Ref); ok {
			for _, p := range pages {
				if p.Ref.Num == pr.Num {
					return p, true
				}
			}
		}
		for _, p := range pages {
			for _, a := range e.r.GetArray(p.Dict.Get("Annots")) {
				if ar, ok := a.(pdf.Ref); ok && ar.Num == wref.Num {
					return p, true
				}
			}
		}
		return pdf.Page{}, false
	}
	decorate := func(w *pdf.Dict, wref pdf.Ref) {
		rc, ok := e.r.ParseRect(w.Get("Rect"))
		if !ok || rc.Width() <= 0 || rc.Height() <= 0 {
			return
		}
		p, ok := pageOf(w, wref)
		rot := 0
		if ok {
			rot = p.Rotate
		}
		wv, hv := rc.Width(), rc.Height()
		if rot == 90 || rot == 270 {
			wv, hv = hv, wv
		}
		ap := appearance(e.u, wv, hv, rot, o, text, img)
		w.Set("AP", pdf.NewDict("N", ap))
	}
	fd := e.dict(f.ref)
	fd.Set("V", sigRef)
	if len(f.widgets) == 0 {
		decorate(fd, f.ref)
	} else {
		for _, wr := range f.widgets {
			wd := e.dict(wr)
			if wd == nil {
				continue
			}
			decorate(wd, wr)
			e.u.Set(wr, wd)
		}
	}
	e.u.Set(f.ref, fd)
	return nil
}

// updateCatalog adds the field to the AcroForm (creating or merging it), sets /SigFlags 3,
// records a certification in /Perms and drops usage rights that the update would invalidate.
func (e *editor) updateCatalog(cat *pdf.Dict, catRef pdf.Ref, newField bool, fieldRef pdf.Ref, o *options, sigRef pdf.Ref) error {
	nc := e.dict(catRef)
	if nc == nil {
		nc = cat.Clone()
	}
	catChanged := false
	var af *pdf.Dict
	afRef, afIndirect := nc.Get("AcroForm").(pdf.Ref)
	switch v := nc.Get("AcroForm").(type) {
	case pdf.Ref:
		af = e.dict(v)
	case *pdf.Dict:
		af = v.Clone()
	}
	if af == nil {
		af = pdf.NewDict()
		afIndirect = false
	}
	if newField {
		if e.appendTo(af, "Fields", fieldRef) {
			// af changed directly (written below)
		}
	}
	flags, _ := pdf.Int(e.r.Get(af, "SigFlags"))
	af.Set("SigFlags", flags|3)
	switch {
	case afIndirect && e.r.GetDict(afRef) != nil:
		e.u.Set(afRef, af)
	case nc.Get("AcroForm") != nil && !afIndirect:
		nc.Set("AcroForm", af)
		catChanged = true
	default:
		nc.Set("AcroForm", e.u.Add(af))
		catChanged = true
	}
	var perms *pdf.Dict
	permsRef, permsIndirect := nc.Get("Perms").(pdf.Ref)
	if permsIndirect {
		perms = e.dict(permsRef)
	} else if d, ok := nc.Get("Perms").(*pdf.Dict); ok {
		perms = d.Clone()
	}
	permsChanged := false
	if perms != nil && (perms.Has("UR") || perms.Has("UR3")) {
		perms.Del("UR")
		perms.Del("UR3")
		permsChanged = true
	}
	if o.certLevel > 0 {
		if perms == nil {
			perms = pdf.NewDict()
		}
		perms.Set("DocMDP", sigRef)
		permsChanged = true
	}
	if permsChanged {
		if permsIndirect && e.r.GetDict(permsRef) != nil {
			e.u.Set(permsRef, perms)
		} else {
			nc.Set("Perms", perms)
			catChanged = true
		}
	}
	if catChanged {
		e.u.Set(catRef, nc)
	}
	return nil
}
