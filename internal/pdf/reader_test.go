package pdf_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trifirma/trifirma/internal/pdf"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testenv"
)

var ctx = context.Background()

// qpdfCheck runs qpdf --check on b (skipped without qpdf, failing under CI).
func qpdfCheck(t *testing.T, b []byte, password string) {
	t.Helper()
	if _, err := exec.LookPath("qpdf"); err != nil {
		testenv.Missing(t, "qpdf is not installed")
		return
	}
	p := filepath.Join(t.TempDir(), "check.pdf")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--check"}
	if password != "" {
		args = append(args, "--password="+password)
	}
	out, err := exec.Command("qpdf", append(args, p)...).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("WARNING")) {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
}

// addInfo appends an update that changes the catalog and adds an object with a string.
func addInfo(t *testing.T, r *pdf.Reader, text string) ([]byte, pdf.Ref) {
	t.Helper()
	cat, catRef, err := r.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	u := r.NewUpdate()
	info := u.Add(pdf.NewDict("Title", pdf.String(text), "Producer", pdf.String("pdf_test")))
	nc := cat.Clone()
	nc.Set("TestInfo", info)
	u.Set(catRef, nc)
	upd, lay, err := u.Bytes(pdf.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lay.StartXRef <= r.Size() {
		t.Fatalf("startxref %d inside the original", lay.StartXRef)
	}
	return upd, info
}

func TestOpenAndUpdateVariants(t *testing.T) {
	type tc struct {
		name string
		o    pdftest.Options
		form pdf.XRefForm
	}
	var cases []tc
	for _, eol := range []string{"\n", "\r", "\r\n"} {
		en := map[string]string{"\n": "LF", "\r": "CR", "\r\n": "CRLF"}[eol]
		cases = append(cases,
			tc{"table-" + en, pdftest.Options{EOL: eol, Pages: 3}, pdf.XRefTable},
			tc{"stream-" + en, pdftest.Options{EOL: eol, XRef: pdftest.Stream}, pdf.XRefStream},
			tc{"objstm-" + en, pdftest.Options{EOL: eol, XRef: pdftest.Stream, ObjStm: true, Pages: 2}, pdf.XRefStream},
			tc{"hybrid-" + en, pdftest.Options{EOL: eol, XRef: pdftest.Hybrid, ObjStm: true, Pages: 2}, pdf.XRefTable},
			tc{"noeol-" + en, pdftest.Options{EOL: eol, NoFinalEOL: true}, pdf.XRefTable},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := pdftest.Build(c.o)
			qpdfCheck(t, doc, "")
			r, err := pdf.OpenBytes(ctx, doc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep, why := r.Repaired(); rep {
				t.Fatalf("repaired: %s", why)
			}
			if r.XRefForm() != c.form {
				t.Fatalf("form %v, want %v", r.XRefForm(), c.form)
			}
			if r.Hybrid() != (c.o.XRef == pdftest.Hybrid) {
				t.Fatalf("hybrid = %v", r.Hybrid())
			}
			pages, err := r.Pages(ctx)
			want := max(c.o.Pages, 1)
			if err != nil || len(pages) != want {
				t.Fatalf("pages = %d, %v; want %d", len(pages), err, want)
			}
			upd, info := addInfo(t, r, "Título €")
			out := append(append([]byte{}, doc...), upd...)
			if !bytes.HasPrefix(out, doc) {
				t.Fatal("original bytes changed")
			}
			qpdfCheck(t, out, "")
			r2, err := pdf.OpenBytes(ctx, out, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep, why := r2.Repaired(); rep {
				t.Fatalf("output repaired: %s", why)
			}
			if r2.XRefForm() != c.form {
				t.Fatalf("update written as %v, want %v", r2.XRefForm(), c.form)
			}
			if r2.Sections() != r.Sections()+1 {
				t.Fatalf("sections %d -> %d", r.Sections(), r2.Sections())
			}
			d := r2.GetDict(info)
			if got, _ := d.Get("Title").(pdf.String); string(got) != "Título €" {
				t.Fatalf("Title = %q", got)
			}
			cat, _, _ := r2.Catalog()
			if ref, _ := cat.Get("TestInfo").(pdf.Ref); ref != info {
				t.Fatalf("catalog not updated: %v", cat.Get("TestInfo"))
			}
			if p2, err := r2.Pages(ctx); err != nil || len(p2) != want {
				t.Fatalf("pages after update = %d, %v", len(p2), err)
			}
		})
	}
}

func TestRepair(t *testing.T) {
	doc := pdftest.Build(pdftest.Options{Pages: 2})
	// Shift every object by inserting a comment after the header: the table's offsets are
	// now wrong, and repair must find the objects by scanning.
	i := bytes.Index(doc, []byte("1 0 obj"))
	broken := append(append(append([]byte{}, doc[:i]...), []byte("% inserted by a careless editor\n")...), doc[i:]...)
	r, err := pdf.OpenBytes(ctx, broken, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep, _ := r.Repaired(); !rep {
		t.Fatal("not repaired")
	}
	if p, err := r.Pages(ctx); err != nil || len(p) != 2 {
		t.Fatalf("pages %d %v", len(p), err)
	}
	upd, info := addInfo(t, r, "repaired")
	out := append(append([]byte{}, broken...), upd...)
	qpdfCheck(t, out, "")
	r2, err := pdf.OpenBytes(ctx, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep, why := r2.Repaired(); rep {
		t.Fatalf("output still needs repair: %s", why)
	}
	if r2.GetDict(info) == nil {
		t.Fatal("new object not found")
	}
	// A startxref that points nowhere is repaired too.
	j := bytes.LastIndex(doc, []byte("startxref"))
	bad := append(append([]byte{}, doc[:j]...), []byte("startxref\n999999\n%%EOF\n")...)
	if r3, err := pdf.OpenBytes(ctx, bad, nil); err != nil {
		t.Fatal(err)
	} else if rep, _ := r3.Repaired(); !rep {
		t.Fatal("bad startxref not repaired")
	}
}

func TestBadInput(t *testing.T) {
	good := pdftest.Build(pdftest.Options{})
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9")
	cases := map[string][]byte{
		"empty":             {},
		"jpeg":              jpeg,
		"truncated":         good[:len(good)/2],
		"garbage after EOF": append(append([]byte{}, good...), []byte("<html>oops</html>")...),
		"no EOF":            bytes.TrimSuffix(bytes.TrimSpace(good), []byte("%%EOF")),
		"header only":       []byte("%PDF-1.7\n%%EOF\n"),
		"no catalog":        []byte("%PDF-1.4\n1 0 obj\n<</Type/Pages/Kids[]/Count 0>>\nendobj\nxref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<</Size 2>>\nstartxref\n52\n%%EOF\n"),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := pdf.OpenBytes(ctx, b, nil)
			if err == nil {
				t.Fatal("opened")
			}
			if !errors.Is(err, pdf.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			t.Logf("%v", err)
		})
	}
	// Trailing white space and NULs after %%EOF are accepted.
	padded := append(append([]byte{}, good...), []byte("\r\n\x00\x00  \n")...)
	if _, err := pdf.OpenBytes(ctx, padded, nil); err != nil {
		t.Fatalf("padding after %%%%EOF: %v", err)
	}
}

// TestEncryption opens documents qpdf encrypted with each revision and writes an update
// whose strings qpdf must decrypt back.
func TestEncryption(t *testing.T) {
	if _, err := exec.LookPath("qpdf"); err != nil {
		testenv.Missing(t, "qpdf is not installed")
		return
	}
	plain := pdftest.Build(pdftest.Options{Pages: 2, Form: true})
	dir := t.TempDir()
	in := filepath.Join(dir, "plain.pdf")
	if err := os.WriteFile(in, plain, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name            string
		pre, enc, extra []string
	}{
		{"R2-RC4-40", []string{"--allow-weak-crypto"}, []string{"40"}, nil},
		{"R3-RC4-128", []string{"--allow-weak-crypto"}, []string{"128", "--use-aes=n"}, nil},
		{"R4-AES-128", nil, []string{"128", "--use-aes=y"}, nil},
		{"R6-AES-256", nil, []string{"256"}, nil},
		{"R4-AES-128-objstm", nil, []string{"128", "--use-aes=y"}, []string{"--object-streams=generate"}},
		{"R6-AES-256-objstm", nil, []string{"256"}, []string{"--object-streams=generate"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			enc := filepath.Join(dir, c.name+".pdf")
			args := append([]string{}, c.pre...)
			args = append(args, "--encrypt", "user pw", "owner pw")
			args = append(args, c.enc...)
			args = append(args, "--")
			args = append(args, c.extra...)
			args = append(args, in, enc)
			if out, err := exec.Command("qpdf", args...).CombinedOutput(); err != nil {
				t.Fatalf("qpdf: %v\n%s", err, out)
			}
			doc, err := os.ReadFile(enc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pdf.OpenBytes(ctx, doc, nil); !errors.Is(err, pdf.ErrEncrypted) {
				t.Fatalf("no password: %v", err)
			}
			if _, err := pdf.OpenBytes(ctx, doc, &pdf.Options{Passwords: []string{"nope"}}); !errors.Is(err, pdf.ErrBadPassword) {
				t.Fatalf("bad password: %v", err)
			}
			for _, pw := range []string{"user pw", "owner pw"} {
				r, err := pdf.OpenBytes(ctx, doc, &pdf.Options{Passwords: []string{pw}})
				if err != nil {
					t.Fatalf("%s: %v", pw, err)
				}
				_, owner, _ := r.Permissions()
				if owner != (pw == "owner pw") {
					t.Fatalf("%s: owner = %v", pw, owner)
				}
				cat, _, _ := r.Catalog()
				af := r.GetDict(cat.Get("AcroForm"))
				f := r.GetDict(r.GetArray(af.Get("Fields"))[0])
				if v, _ := f.Get("V").(pdf.String); string(v) != "Juan Espa\xf1ol" {
					t.Fatalf("field value %q", v)
				}
				upd, info := addInfo(t, r, "cifrado ñ")
				out := append(append([]byte{}, doc...), upd...)
				qpdfCheck(t, out, "owner pw")
				dec := filepath.Join(dir, "dec.pdf")
				outp := filepath.Join(dir, "out.pdf")
				if err := os.WriteFile(outp, out, 0o644); err != nil {
					t.Fatal(err)
				}
				if o, err := exec.Command("qpdf", "--password=owner pw", "--decrypt", "--object-streams=disable", outp, dec).CombinedOutput(); err != nil {
					t.Fatalf("qpdf --decrypt: %v\n%s", err, o)
				}
				db, _ := os.ReadFile(dec)
				if !bytes.Contains(db, []byte("cifrado")) {
					t.Fatal("the update's string does not decrypt")
				}
				r2, err := pdf.OpenBytes(ctx, out, &pdf.Options{Passwords: []string{pw}})
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := r2.GetDict(info).Get("Title").(pdf.String); string(got) != "cifrado ñ" {
					t.Fatalf("read back %q", got)
				}
			}
		})
	}
}

func TestRefdataOpens(t *testing.T) {
	dir := testenv.Shared(t)
	files, _ := filepath.Glob(filepath.Join(dir, "refdata", "p*", "*.pdf"))
	if len(files) == 0 {
		t.Fatal("no reference PDFs")
	}
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pdf.OpenBytes(ctx, doc, &pdf.Options{Passwords: []string{"password", "123456"}})
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if rep, why := r.Repaired(); rep {
			t.Errorf("%s: repaired (%s)", filepath.Base(f), why)
		}
		if _, err := r.Pages(ctx); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}

func TestSerialise(t *testing.T) {
	d := pdf.NewDict("A", int64(1), "B", 2.5, "C", pdf.Name("x y#"), "D", pdf.String("a(b)\\\n"),
		"E", pdf.Array{true, nil, pdf.Ref{Num: 3}}, "F", pdf.HexString{0xde, 0xad})
	got := string(pdf.Append(nil, d))
	want := `<</A 1/B 2.5/C/x#20y#23/D(a\(b\)\\\n)/E[true null 3 0 R]/F<DEAD>>>`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if !strings.Contains(fmt.Sprint(pdf.Ref{Num: 7, Gen: 1}), "7 1 R") {
		t.Fatal("Ref.String")
	}
}
