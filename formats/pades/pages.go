package pades

import (
	"context"
	"fmt"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/pdf"
)

// pageSet gives the pages of the document lazily: the count comes from the page tree root and
// single pages are found by descending the tree, so that signing page 1 of a 1,000-page
// document reads a handful of objects; the whole tree is walked only when a caller needs every
// page.
type pageSet struct {
	ctx   context.Context
	r     *pdf.Reader
	n     int
	byNum map[int]pdf.Page
	all   []pdf.Page
}

func newPageSet(ctx context.Context, r *pdf.Reader) (*pageSet, error) {
	n, err := r.PageCount(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", trifirma.ErrInvalidDocument, err)
	}
	return &pageSet{ctx: ctx, r: r, n: n, byNum: map[int]pdf.Page{}}, nil
}

// count returns the number of pages.
func (ps *pageSet) count() int { return ps.n }

// get returns page n (from 1).
func (ps *pageSet) get(n int) (pdf.Page, error) {
	if n < 1 || n > ps.n {
		return pdf.Page{}, bad("page %d is out of range: the document has %d page(s)", n, ps.n)
	}
	if ps.all != nil {
		return ps.all[n-1], nil
	}
	if p, ok := ps.byNum[n]; ok {
		return p, nil
	}
	p, err := ps.r.Page(ps.ctx, n)
	if err != nil {
		return pdf.Page{}, fmt.Errorf("%w: page %d: %v", trifirma.ErrInvalidDocument, n, err)
	}
	ps.byNum[n] = p
	return p, nil
}

// list walks the whole page tree.
func (ps *pageSet) list() ([]pdf.Page, error) {
	if ps.all == nil {
		all, err := ps.r.Pages(ps.ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", trifirma.ErrInvalidDocument, err)
		}
		ps.all, ps.n = all, len(all)
	}
	return ps.all, nil
}
