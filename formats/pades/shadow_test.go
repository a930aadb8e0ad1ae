package pades_test

import (
	"crypto"
	"fmt"
	"strings"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/pades"
	"github.com/trifirma/trifirma/internal/pdf"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
)

// appendUpdate applies edit to an incremental update of doc and returns doc with it.
func appendUpdate(t *testing.T, doc []byte, edit func(r *pdf.Reader, u *pdf.Update)) []byte {
	t.Helper()
	r, err := pdf.OpenBytes(ctx, doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := r.NewUpdate()
	edit(r, u)
	upd, _, err := u.Bytes(pdf.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte{}, doc...), upd...)
}

func page(t *testing.T, r *pdf.Reader, n int) pdf.Page {
	t.Helper()
	p, err := r.Page(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// replaceContents makes page n show other text (a new content stream object).
func replaceContents(n int) func(*testing.T) func(*pdf.Reader, *pdf.Update) {
	return func(t *testing.T) func(*pdf.Reader, *pdf.Update) {
		return func(r *pdf.Reader, u *pdf.Update) {
			p := page(t, r, n)
			pd := p.Dict.Clone()
			pd.Set("Contents", u.Add(&pdf.Stream{Dict: pdf.NewDict(), Data: []byte("BT /F1 24 Tf 72 600 Td (Importe: 1.000.000 EUR) Tj ET")}))
			u.Set(p.Ref, pd)
		}
	}
}

// overlay adds, on page n, a stamp annotation whose appearance covers the page with text.
func overlay(n int) func(*testing.T) func(*pdf.Reader, *pdf.Update) {
	return func(t *testing.T) func(*pdf.Reader, *pdf.Update) {
		return func(r *pdf.Reader, u *pdf.Update) {
			p := page(t, r, n)
			ap := u.Add(&pdf.Stream{Dict: pdf.NewDict("Type", pdf.Name("XObject"), "Subtype", pdf.Name("Form"),
				"BBox", pdf.Array{int64(0), int64(0), int64(612), int64(792)}),
				Data: []byte("1 1 1 rg 0 0 612 792 re f 0 0 0 rg BT /Helvetica 30 Tf 72 400 Td (ANULADO) Tj ET")})
			annot := u.Add(pdf.NewDict("Type", pdf.Name("Annot"), "Subtype", pdf.Name("Stamp"), "F", int64(4),
				"Rect", pdf.Array{int64(0), int64(0), int64(612), int64(792)}, "AP", pdf.NewDict("N", ap)))
			pd := p.Dict.Clone()
			annots := append(pdf.Array{}, r.GetArray(pd.Get("Annots"))...)
			pd.Set("Annots", append(annots, annot))
			u.Set(p.Ref, pd)
		}
	}
}

// TestShadowAttack: a document changed after its last signature in a way that alters what a
// checked page shows is refused with pdfShadowAttackSuspect (denied with
// allowShadowAttack=false, signed with allowShadowAttack=true); plain co-signatures and updates
// that leave the pages alone pass.
func TestShadowAttack(t *testing.T) {
	pki := testpki.Get(t)
	signed := mustSign(t, pdftest.Build(pdftest.Options{Pages: 12}), pki.RSA, crypto.SHA256, nil)
	for _, c := range []struct {
		name    string
		edit    func(*testing.T) func(*pdf.Reader, *pdf.Update)
		params  trifirma.Params
		cfg     pades.Config
		suspect bool
	}{
		{name: "content stream replaced", edit: replaceContents(1), suspect: true},
		{name: "overlay annotation", edit: overlay(2), suspect: true},
		{name: "page rotated", suspect: true, edit: func(t *testing.T) func(*pdf.Reader, *pdf.Update) {
			return func(r *pdf.Reader, u *pdf.Update) {
				p := page(t, r, 3)
				pd := p.Dict.Clone()
				pd.Set("Rotate", int64(180))
				u.Set(p.Ref, pd)
			}
		}},
		{name: "font replaced in the resources", suspect: true, edit: func(t *testing.T) func(*pdf.Reader, *pdf.Update) {
			return func(r *pdf.Reader, u *pdf.Update) {
				p := page(t, r, 1)
				res := r.GetDict(p.Dict.Get("Resources"))
				fonts := r.GetDict(res.Get("Font"))
				for _, k := range fonts.Keys() {
					if ref, ok := fonts.Get(k).(pdf.Ref); ok {
						u.Set(ref, pdf.NewDict("Type", pdf.Name("Font"), "Subtype", pdf.Name("Type1"), "BaseFont", pdf.Name("Courier")))
						return
					}
				}
				t.Fatal("page 1 has no indirect font")
			}
		}},
		{name: "page removed", suspect: true, edit: func(t *testing.T) func(*pdf.Reader, *pdf.Update) {
			return func(r *pdf.Reader, u *pdf.Update) {
				cat, _, _ := r.Catalog()
				root := cat.Get("Pages").(pdf.Ref)
				rd := r.GetDict(root).Clone()
				kids := r.GetArray(rd.Get("Kids"))
				rd.Set("Kids", append(pdf.Array{}, kids[:len(kids)-1]...))
				rd.Set("Count", int64(len(kids)-1))
				u.Set(root, rd)
			}
		}},
		{name: "same content rewritten", edit: func(t *testing.T) func(*pdf.Reader, *pdf.Update) {
			return func(r *pdf.Reader, u *pdf.Update) {
				p := page(t, r, 1)
				u.Set(p.Ref, p.Dict.Clone())
				ref := p.Dict.Get("Contents").(pdf.Ref)
				o, _ := r.Object(ref.Num)
				u.Set(ref, o)
			}
		}},
		{name: "metadata only", edit: func(t *testing.T) func(*pdf.Reader, *pdf.Update) {
			return func(r *pdf.Reader, u *pdf.Update) {
				cat, catRef, _ := r.Catalog()
				nc := cat.Clone()
				nc.Set("Lang", pdf.String("es-ES"))
				u.Set(catRef, nc)
			}
		}},
		// Page 12 lies beyond the 10 pages checked by default, and beyond a server cap of 5
		// even when the request asks for all pages.
		{name: "change beyond the checked pages", edit: replaceContents(12)},
		{name: "all pages checked", edit: replaceContents(12), params: trifirma.Params{"pagesToCheckShadowAttack": "all"},
			cfg: pades.Config{MaxShadowAttackPages: -1}, suspect: true},
		{name: "all pages capped by the default server cap", edit: replaceContents(12), params: trifirma.Params{"pagesToCheckShadowAttack": "all"}},
		{name: "server cap", edit: replaceContents(6), params: trifirma.Params{"pagesToCheckShadowAttack": "all"},
			cfg: pades.Config{MaxShadowAttackPages: 5}},
		{name: "request limit", edit: replaceContents(3), params: trifirma.Params{"pagesToCheckShadowAttack": "2"}},
		{name: "check disabled by the server", edit: replaceContents(1), cfg: pades.Config{NoShadowAttackCheck: true}},
		{name: "check skipped with 0 pages", edit: replaceContents(1), params: trifirma.Params{"pagesToCheckShadowAttack": "0"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			changed := appendUpdate(t, signed, c.edit(t))
			sign := func(p trifirma.Params) ([]byte, error) {
				q := c.params.Clone()
				if q == nil {
					q = trifirma.Params{}
				}
				for k, v := range p {
					q[k] = v
				}
				return trifirma.Sign(ctx, changed, pki.EC.Key, pki.EC.Chain, trifirma.SignOptions{
					Engine: pades.New(c.cfg), Format: trifirma.FormatPAdES, Hash: crypto.SHA256, Params: q, Time: fixedTime})
			}
			out, err := sign(nil)
			if !c.suspect {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				checkTools(t, out, "", 2)
				return
			}
			needConfig(t, err, trifirma.NeedShadowAttack, false)
			_, err = sign(trifirma.Params{"allowShadowAttack": "false"})
			needConfig(t, err, trifirma.NeedShadowAttack, true)
			out, err = sign(trifirma.Params{"allowShadowAttack": "true"})
			if err != nil {
				t.Fatalf("allowShadowAttack=true: %v", err)
			}
			checkTools(t, out, "", 2)
		})
	}
	// A page graph too deep to compare is reported rather than cleared.
	objs := []string{"<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[3 0 R]/Count 1>>",
		"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/X 4 0 R>>"}
	for i := 0; i < 300; i++ {
		objs = append(objs, fmt.Sprintf("[%d 0 R]", i+5))
	}
	objs = append(objs, "null")
	deep := mustSign(t, pdftest.Raw(objs, ""), pki.RSA, crypto.SHA256, nil)
	deep = appendUpdate(t, deep, func(r *pdf.Reader, u *pdf.Update) {
		cat, catRef, _ := r.Catalog()
		nc := cat.Clone()
		nc.Set("Lang", pdf.String("es-ES"))
		u.Set(catRef, nc)
	})
	_, err := sign(t, deep, pki.EC, crypto.SHA256, nil)
	needConfig(t, err, trifirma.NeedShadowAttack, false)
	if !strings.Contains(err.Error(), "too deeply nested") {
		t.Fatalf("deep graph: %v", err)
	}

	// A plain co-signature (nothing after the first signature) passes, checking every page.
	out := mustSign(t, signed, pki.EC, crypto.SHA256, trifirma.Params{"pagesToCheckShadowAttack": "all"})
	check(t, out, 2, validate.Options{})
}
