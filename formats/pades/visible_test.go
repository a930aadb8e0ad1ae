package pades_test

import (
	"bytes"
	"crypto"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/pdf"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testenv"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
)

// render renders page (1-based) at 72 dpi with poppler's pdftoppm.
func render(t testing.TB, doc []byte, page int) image.Image {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		testenv.Missing(t, "pdftoppm (poppler-utils) is not installed")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "page")
	p := fmt.Sprint(page)
	if res, err := exec.Command("pdftoppm", "-r", "72", "-f", p, "-l", p, "-singlefile", "-png", in, out).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, res)
	}
	f, err := os.Open(out + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ink counts the non-white pixels inside r (visual page coordinates, origin bottom left).
func ink(img image.Image, r pdf.Rect) int {
	b := img.Bounds()
	h := b.Dy()
	n := 0
	for y := int(r[1]) + 1; y < int(r[3])-1; y++ {
		for x := int(r[0]) + 1; x < int(r[2])-1; x++ {
			py := h - y
			if x < 0 || py < 0 || x >= b.Dx() || py >= h {
				continue
			}
			cr, cg, cb, _ := img.At(x, py).RGBA()
			if cr < 0xd000 || cg < 0xd000 || cb < 0xd000 {
				n++
			}
		}
	}
	return n
}

func assertInk(t testing.TB, doc []byte, page int, r pdf.Rect) {
	t.Helper()
	img := render(t, doc, page)
	if n := ink(img, r); n < 50 {
		t.Fatalf("page %d: only %d dark pixels inside the signature rectangle %v", page, n, r)
	}
}

func TestVisibleSignatures(t *testing.T) {
	pki := testpki.Get(t)
	rect := func(p trifirma.Params) trifirma.Params {
		p["signaturePositionOnPageLowerLeftX"] = "100"
		p["signaturePositionOnPageLowerLeftY"] = "500"
		p["signaturePositionOnPageUpperRightX"] = "400"
		p["signaturePositionOnPageUpperRightY"] = "600"
		return p
	}
	area := pdf.Rect{100, 500, 400, 600}
	var jpg bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 60, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	if err := jpeg.Encode(&jpg, img, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		doc    pdftest.Options
		p      trifirma.Params
		pages  []int // pages that must show the signature
		blank  []int // pages that must not
		expect string
	}{
		{"default last page", pdftest.Options{Pages: 3}, rect(trifirma.Params{}), []int{3}, []int{1, 2}, "Firmado por Trifirma Test Signer"},
		{"first page", pdftest.Options{Pages: 3}, rect(trifirma.Params{"signaturePage": "1"}), []int{1}, []int{3}, ""},
		{"minus one", pdftest.Options{Pages: 3}, rect(trifirma.Params{"signaturePage": "-1"}), []int{3}, []int{1}, ""},
		{"all pages", pdftest.Options{Pages: 3}, rect(trifirma.Params{"signaturePage": "all"}), []int{1, 2, 3}, nil, ""},
		{"list and range", pdftest.Options{Pages: 4}, rect(trifirma.Params{"signaturePages": "1,3-4"}), []int{1, 3, 4}, []int{2}, ""},
		{"append", pdftest.Options{Pages: 2}, rect(trifirma.Params{"signaturePage": "append"}), []int{3}, []int{2}, ""},
		{"layer2 text", pdftest.Options{}, rect(trifirma.Params{"layer2Text": "CN=$$SUBJECTCN$$ serie $$CERTSERIAL$$ emisor $$ISSUERCN$$ $$SIGNDATE=dd/MM/yyyy$$ $$REASON$$",
			"signReason": "Prueba", "layer2FontSize": "9", "layer2FontColor": "red", "layer2FontFamily": "2", "layer2FontStyle": "5"}), []int{1}, nil, "14/03/2025"},
		{"rotation 90", pdftest.Options{}, rect(trifirma.Params{"signatureRotation": "90"}), []int{1}, nil, ""},
		{"rotated page", pdftest.Options{Rotate: 90}, rect(trifirma.Params{}), []int{1}, nil, ""},
		{"rotated page 270 + rotation 180", pdftest.Options{Rotate: 270}, rect(trifirma.Params{"signatureRotation": "180"}), []int{1}, nil, ""},
		{"rubric image", pdftest.Options{}, rect(trifirma.Params{"signatureRubricImage": trifirma.EncodeStd(jpg.Bytes())}), []int{1}, nil, "/DCTDecode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := pdftest.Build(c.doc)
			out := mustSign(t, doc, pki.RSA, crypto.SHA256, c.p)
			check(t, out, 1, validate.Options{})
			for _, pg := range c.pages {
				assertInk(t, out, pg, area)
			}
			for _, pg := range c.blank {
				if n := ink(render(t, out, pg), area); n != 0 {
					t.Fatalf("page %d shows %d dark pixels where no signature should be", pg, n)
				}
			}
			if c.expect != "" && !strings.Contains(string(out[len(doc):]), c.expect) {
				t.Fatalf("update lacks %q", c.expect)
			}
		})
	}
}

func TestLayer2Obfuscation(t *testing.T) {
	pki := testpki.Get(t)
	doc := pdftest.Build(pdftest.Options{})
	p := trifirma.Params{"signaturePositionOnPageLowerLeftX": "100", "signaturePositionOnPageLowerLeftY": "100",
		"signaturePositionOnPageUpperRightX": "400", "signaturePositionOnPageUpperRightY": "200", "layer2Text": "DN: $$SUBJECTDN$$"}
	out := mustSign(t, doc, pki.RSA, crypto.SHA256, p)
	upd := string(out[len(doc):])
	if strings.Contains(upd, "99999999R") || !strings.Contains(upd, "SERIALNUMBER=IDCES-***9999*") {
		i := strings.Index(upd, "DN:")
		t.Fatalf("identifier not masked: %q", upd[i:min(len(upd), i+120)])
	}
	p["obfuscateCertText"] = "false"
	out = mustSign(t, doc, pki.RSA, crypto.SHA256, p)
	if !strings.Contains(string(out[len(doc):]), "IDCES-99999999R") {
		t.Fatal("obfuscateCertText=false still masks")
	}
}
