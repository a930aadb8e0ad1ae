package pdf_test

import (
	"testing"

	"github.com/trifirma/trifirma/internal/pdf"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
)

// FuzzOpen feeds arbitrary bytes to the reader, walks what it finds and writes an update:
// nothing may panic, and an update of a document that opened must verify and read back.
func FuzzOpen(f *testing.F) {
	f.Add(pdftest.Build(pdftest.Options{}))
	f.Add(pdftest.Build(pdftest.Options{XRef: pdftest.Stream, ObjStm: true, Pages: 2}))
	f.Add(pdftest.Build(pdftest.Options{XRef: pdftest.Hybrid, ObjStm: true, EOL: "\r"}))
	f.Add(pdftest.Build(pdftest.Options{Form: true, EmptySigField: true, EOL: "\r\n"}))
	page := "<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>"
	f.Add(pdftest.Raw([]string{"<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[3 0 R 2 0 R]/Count 9>>", page}, "/Size 99999"))
	f.Add(pdftest.Raw([]string{"<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[3 0 R]/Count 1>>", page}, "/Prev 9"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<20 {
			return
		}
		r, err := pdf.OpenBytes(ctx, b, &pdf.Options{AllowEmptyPassword: true})
		if err != nil {
			return
		}
		if n, err := r.PageCount(ctx); err == nil && n > 0 {
			_, _ = r.Page(ctx, 1)
			_, _ = r.Page(ctx, n)
		}
		pages, _ := r.Pages(ctx)
		for _, p := range pages {
			_ = r.GetArray(p.Dict.Get("Annots"))
		}
		cat, catRef, err := r.Catalog()
		if err != nil {
			return
		}
		for n := 1; n <= r.MaxObjNum() && n < 200; n++ {
			o, err := r.Object(n)
			if s, ok := o.(*pdf.Stream); ok && err == nil {
				_, _ = r.DecodeStream(s, 1<<20)
			}
		}
		u := r.NewUpdate()
		nc := cat.Clone()
		nc.Set("Fuzz", u.Add(pdf.NewDict("S", pdf.String("x"))))
		u.Set(catRef, nc)
		upd, _, err := u.Bytes(pdf.WriteOptions{})
		if err != nil {
			return
		}
		if err := r.VerifyUpdate(ctx, upd); err != nil {
			t.Fatalf("the update of an opened document does not verify: %v", err)
		}
		out := append(append([]byte{}, b...), upd...)
		r2, err := pdf.OpenBytes(ctx, out, &pdf.Options{AllowEmptyPassword: true})
		if err != nil {
			t.Fatalf("update of an opened document does not read back: %v", err)
		}
		if _, _, err := r2.Catalog(); err != nil {
			t.Fatalf("catalog after update: %v", err)
		}
	})
}
