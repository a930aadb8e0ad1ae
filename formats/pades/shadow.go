package pades

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/pdf"
)

// Shadow-attack check parameters (afirma-protocol.md §1.3, §6.1).
const (
	ParamAllowShadowAttack   = "allowShadowAttack"
	ParamShadowAttackPages   = "pagesToCheckShadowAttack"
	defaultShadowAttackPages = 10
	// maxShadowObjects bounds the objects one check compares; a larger page graph cannot be
	// cleared and is reported as suspect.
	maxShadowObjects = 200000
)

// shadowPages returns how many pages the shadow-attack check compares for this request: the
// request's pagesToCheckShadowAttack (10 by default, "all" for every page) capped by
// [Config].MaxShadowAttackPages; 0 means the check is skipped (allowShadowAttack=true, the
// engine's NoShadowAttackCheck, or a limit of 0 as in the reference) and -1 every page.
func (e *Engine) shadowPages(p trifirma.Params) (int, error) {
	if e.cfg.NoShadowAttackCheck || p.Bool(ParamAllowShadowAttack, false) {
		return 0, nil
	}
	n := defaultShadowAttackPages
	if v := strings.TrimSpace(p[ParamShadowAttackPages]); v != "" {
		if strings.EqualFold(v, "all") {
			n = -1
		} else {
			k, err := strconv.Atoi(v)
			if err != nil {
				return 0, bad("%s=%q is not a number of pages or \"all\"", ParamShadowAttackPages, v)
			}
			n = max(k, 0)
		}
	}
	limit := e.cfg.MaxShadowAttackPages
	if limit == 0 {
		limit = defaultShadowAttackPages
	}
	if limit > 0 && (n < 0 || n > limit) {
		n = limit
	}
	return n, nil
}

// checkShadowAttack refuses, with the reference's pdfShadowAttackSuspect confirmation, to
// sign a document changed after its newest signature in a way that alters what its pages
// show (a "shadow attack": content hidden in the signed revision revealed by a later update,
// or replaced by one). See [shadowChange] for what is compared.
func checkShadowAttack(ctx context.Context, r *pdf.Reader, doc []byte, p trifirma.Params, o *options, sigs []existingSig) error {
	if o.shadowPages == 0 || len(sigs) == 0 {
		return nil
	}
	what, err := shadowChange(ctx, r, doc, o, sigs, o.shadowPages)
	if err != nil || what == "" {
		return err
	}
	return trifirma.NeedConfig(p, trifirma.NeedShadowAttack, ParamAllowShadowAttack,
		"the PDF was changed after its last signature in a way that alters what it shows ("+what+"): possible PDF shadow attack")
}

// shadowChange compares the revision the newest signature covers with the current document and
// returns a description of the first visible difference ("" when there is none):
//
//   - the number of pages;
//   - for each of the first n pages (n < 0: all): the effective MediaBox, CropBox and Rotate,
//     and, deeply, every entry of the page dictionary (content streams, resources with their
//     fonts, images and forms, annotations with their appearance streams, groups, ...) and the
//     resources the page inherits, following indirect references. Objects are compared by
//     content, not by number, so that an update that rewrites an object with the same value is
//     not a change; streams are compared by their stored (encoded) data. Back-pointers (/Parent,
//     /P) are not followed, and field values (/V, /DV) are left to the modified-form check
//     (their appearance streams are compared).
//
// Updates that leave the checked pages alone (metadata, document security store, form values
// of fields whose widgets are on unchecked pages) are not reported. When the signed revision
// cannot be read on its own, or its pages are too large a graph to compare, that is reported.
func shadowChange(ctx context.Context, r *pdf.Reader, doc []byte, o *options, sigs []existingSig, n int) (string, error) {
	end := int64(-1)
	for _, s := range sigs {
		if len(s.byteRange) == 4 {
			// Only ByteRanges that end a revision (at its %%EOF) sign one.
			e := s.byteRange[2] + s.byteRange[3]
			if e > end && e > 0 && e <= int64(len(doc)) &&
				bytes.HasSuffix(bytes.TrimRight(doc[:e], "\x00\t\n\f\r "), []byte("%%EOF")) {
				end = e
			}
		}
	}
	if end <= 0 || len(bytes.TrimRight(doc[end:], "\x00\t\n\f\r ")) == 0 {
		return "", nil // nothing after the newest signed revision
	}
	old, err := pdf.OpenBytes(ctx, doc[:end], &pdf.Options{Passwords: o.passwords, AllowEmptyPassword: true})
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "the revision of the last signature cannot be read to compare it", nil
	}
	// The pages in the order a full walk of each tree gives (not through /Count, which an
	// update could make lie).
	oldPages, err := old.Pages(ctx)
	if err != nil {
		return "the pages of the last signed revision cannot be read", nil
	}
	curPages, err := r.Pages(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: %v", trifirma.ErrInvalidDocument, err)
	}
	if len(oldPages) != len(curPages) {
		return fmt.Sprintf("it had %d page(s) when last signed and has %d now", len(oldPages), len(curPages)), nil
	}
	count := len(oldPages)
	if n >= 0 && n < count {
		count = n
	}
	c := &revCompare{old: old, cur: r, memo: map[[2]int]bool{}, budget: maxShadowObjects}
	for i := 1; i <= count; i++ {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		op, cp := oldPages[i-1], curPages[i-1]
		if op.MediaBox != cp.MediaBox || op.CropBox != cp.CropBox || op.Rotate != cp.Rotate {
			return fmt.Sprintf("page %d: its size, crop box or rotation changed", i), nil
		}
		what := ""
		if key := c.dictDiff(op.Dict, cp.Dict, 0); key != "" {
			what = fmt.Sprintf("page %d: /%s changed", i, key)
		} else if !op.Dict.Has("Resources") || !cp.Dict.Has("Resources") {
			if !c.equal(inheritedResources(old, op.Dict), inheritedResources(r, cp.Dict), 0) {
				what = fmt.Sprintf("page %d: its inherited /Resources changed", i)
			}
		}
		if c.budget < 0 {
			return fmt.Sprintf("page %d: its objects are too many (over %d) or too deeply nested to compare", i, maxShadowObjects), nil
		}
		if what != "" {
			return what, nil
		}
	}
	return "", nil
}

// inheritedResources returns the /Resources a page without its own inherits (nil: none).
func inheritedResources(r *pdf.Reader, page *pdf.Dict) pdf.Object {
	d := page
	for depth := 0; depth < 64 && d != nil; depth++ {
		if v := d.Get("Resources"); v != nil {
			return v
		}
		d = r.GetDict(d.Get("Parent"))
	}
	return nil
}

// revCompare compares object graphs of two revisions of one document.
type revCompare struct {
	old, cur *pdf.Reader
	memo     map[[2]int]bool // (old num, current num) → equal; in progress counts as equal
	budget   int
}

// skipKey reports the entries not compared: back-pointers up the document structure, and
// form field values, which are the modified-form check's concern (allowModifiedForm); the
// appearance streams that show them are compared.
func skipKey(k pdf.Name) bool { return k == "Parent" || k == "P" || k == "V" || k == "DV" }

// dictDiff returns the first key whose value differs between a and b ("" when none).
func (c *revCompare) dictDiff(a, b *pdf.Dict, depth int) pdf.Name {
	for _, k := range a.Keys() {
		if !skipKey(k) && !c.equal(a.Get(k), b.Get(k), depth+1) {
			return k
		}
	}
	for _, k := range b.Keys() {
		if !skipKey(k) && !a.Has(k) && b.Get(k) != nil {
			return k
		}
	}
	return ""
}

func (c *revCompare) equal(a, b pdf.Object, depth int) bool {
	if depth > 256 {
		c.budget = -1
		return false
	}
	ra, aRef := a.(pdf.Ref)
	rb, bRef := b.(pdf.Ref)
	if aRef || bRef {
		c.budget--
		if c.budget < 0 {
			return false
		}
		va, errA := c.old.Resolve(a)
		vb, errB := c.cur.Resolve(b)
		if errA != nil || errB != nil {
			return false
		}
		if !aRef || !bRef {
			return c.equal(va, vb, depth+1)
		}
		// Pairs of references are remembered: shared objects are compared once, and a cycle
		// counts as equal while it is being compared.
		key := [2]int{ra.Num, rb.Num}
		if eq, ok := c.memo[key]; ok {
			return eq
		}
		c.memo[key] = true
		eq := c.equal(va, vb, depth+1)
		c.memo[key] = eq
		return eq
	}
	switch va := a.(type) {
	case nil:
		return b == nil
	case *pdf.Dict:
		vb, ok := b.(*pdf.Dict)
		return ok && c.dictDiff(va, vb, depth) == ""
	case *pdf.Stream:
		vb, ok := b.(*pdf.Stream)
		return ok && bytes.Equal(va.Data, vb.Data) && c.dictDiff(va.Dict, vb.Dict, depth) == ""
	case pdf.Array:
		vb, ok := b.(pdf.Array)
		if !ok || len(va) != len(vb) {
			return false
		}
		for i := range va {
			if !c.equal(va[i], vb[i], depth+1) {
				return false
			}
		}
		return true
	}
	if _, ok := b.(*pdf.Dict); ok {
		return false
	}
	return bytes.Equal(pdf.Append(nil, a), pdf.Append(nil, b))
}
