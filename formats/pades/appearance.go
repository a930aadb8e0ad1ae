package pades

import (
	"bytes"
	"fmt"
	"image/color"
	"image/jpeg"
	"math"
	"strconv"

	"github.com/trifirma/trifirma/internal/pdf"
)

const textMargin = 2.0

type font struct {
	base   string
	widths *[224]uint16 // nil: monospaced 600
	symbol bool         // built-in encoding (no /Encoding entry)
}

func pickFont(family, style int) font {
	bold, italic := style&1 != 0, style&2 != 0
	switch family {
	case 1:
		f := font{base: "Helvetica", widths: &helveticaWidths}
		if bold {
			f.widths = &helveticaBoldWidths
		}
		switch {
		case bold && italic:
			f.base = "Helvetica-BoldOblique"
		case bold:
			f.base = "Helvetica-Bold"
		case italic:
			f.base = "Helvetica-Oblique"
		}
		return f
	case 2:
		switch {
		case bold && italic:
			return font{base: "Times-BoldItalic", widths: &timesBoldItalicWidths}
		case bold:
			return font{base: "Times-Bold", widths: &timesBoldWidths}
		case italic:
			return font{base: "Times-Italic", widths: &timesItalicWidths}
		}
		return font{base: "Times-Roman", widths: &timesRomanWidths}
	case 3:
		return font{base: "Symbol", widths: &symbolWidths, symbol: true}
	case 4:
		return font{base: "ZapfDingbats", widths: &zapfDingbatsWidths, symbol: true}
	}
	switch {
	case bold && italic:
		return font{base: "Courier-BoldOblique"}
	case bold:
		return font{base: "Courier-Bold"}
	case italic:
		return font{base: "Courier-Oblique"}
	}
	return font{base: "Courier"}
}

// width returns the width of encoded text at size 1.
func (f font) width(b []byte) float64 {
	w := 0
	for _, c := range b {
		switch {
		case f.widths == nil:
			w += 600
		case c >= 32:
			w += int(f.widths[c-32])
		}
	}
	return float64(w) / 1000
}

// wrap splits encoded text into lines no wider than maxW at size.
func (f font) wrap(paras [][]byte, size, maxW float64) [][]byte {
	var lines [][]byte
	for _, p := range paras {
		if len(p) == 0 {
			lines = append(lines, nil)
			continue
		}
		var cur []byte
		words := bytes.Split(p, []byte{' '})
		for _, w := range words {
			cand := w
			if len(cur) > 0 {
				cand = append(append(append([]byte{}, cur...), ' '), w...)
			}
			if f.width(cand)*size <= maxW || len(cur) == 0 && f.width(w)*size <= maxW {
				cur = cand
				continue
			}
			if len(cur) > 0 {
				lines = append(lines, cur)
				cur = nil
			}
			// Break a word longer than the line.
			for f.width(w)*size > maxW && len(w) > 1 {
				n := 1
				for n < len(w) && f.width(w[:n+1])*size <= maxW {
					n++
				}
				lines = append(lines, w[:n])
				w = w[n:]
			}
			cur = w
		}
		lines = append(lines, cur)
	}
	return lines
}

// layoutText fits text into w×h: it wraps at the requested size and shrinks the font (as the
// reference's fitText does) until every line fits.
func layoutText(f font, text string, size, w, h float64) ([][]byte, float64) {
	var paras [][]byte
	for _, p := range bytes.Split([]byte(normalizeEOL(text)), []byte{'\n'}) {
		paras = append(paras, winAnsiOrSymbol(f, string(p)))
	}
	aw, ah := w-2*textMargin, h-2*textMargin
	if aw <= 0 || ah <= 0 {
		return nil, size
	}
	fits := func(s float64) ([][]byte, bool) {
		lines := f.wrap(paras, s, aw)
		return lines, float64(len(lines))*s <= ah
	}
	if lines, ok := fits(size); ok {
		return lines, size
	}
	lo, hi := 0.5, size
	best, _ := fits(lo)
	bestSize := lo
	for k := 0; k < 40 && hi-lo > 0.05; k++ {
		mid := (lo + hi) / 2
		if lines, ok := fits(mid); ok {
			best, bestSize, lo = lines, mid, mid
		} else {
			hi = mid
		}
	}
	return best, bestSize
}

func normalizeEOL(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' {
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			c = '\n'
		}
		out = append(out, c)
	}
	return string(out)
}

func winAnsiOrSymbol(f font, s string) []byte {
	if !f.symbol {
		return winAnsi(s)
	}
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 0x20 && r <= 0xff {
			out = append(out, byte(r))
		} else {
			out = append(out, ' ')
		}
	}
	return out
}

// jpegImage is a rubric image to embed with /DCTDecode.
type jpegImage struct {
	data          []byte
	width, height int
	colorSpace    pdf.Name
}

func parseJPEG(b []byte) (*jpegImage, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, bad("%s is not a JPEG image: %v", ParamRubricImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > 20000 || cfg.Height > 20000 {
		return nil, bad("%s has unusable dimensions %dx%d", ParamRubricImage, cfg.Width, cfg.Height)
	}
	cs := pdf.Name("DeviceRGB")
	switch cfg.ColorModel {
	case color.GrayModel:
		cs = "DeviceGray"
	case color.CMYKModel:
		cs = "DeviceCMYK"
	}
	return &jpegImage{data: b, width: cfg.Width, height: cfg.Height, colorSpace: cs}, nil
}

// appearance builds the normal-appearance form XObject of a widget whose visible size (as the
// reader of the page sees it) is w×h. pageRotate is the page's /Rotate; the content is turned
// so that it reads upright, then by the requested signatureRotation.
func appearance(u *pdf.Update, w, h float64, pageRotate int, o *options, text string, img *jpegImage) pdf.Ref {
	rot := o.rotation
	cw, ch := w, h
	if rot == 90 || rot == 270 {
		cw, ch = h, w
	}
	total := (rot + pageRotate) % 360
	var content []byte
	res := pdf.NewDict()
	if img != nil {
		imgRef := u.Add(&pdf.Stream{Dict: pdf.NewDict(
			"Type", pdf.Name("XObject"), "Subtype", pdf.Name("Image"),
			"Width", int64(img.width), "Height", int64(img.height),
			"ColorSpace", img.colorSpace, "BitsPerComponent", int64(8),
			"Filter", pdf.Name("DCTDecode")), Data: img.data})
		scale := math.Min(cw/float64(img.width), ch/float64(img.height))
		iw, ih := float64(img.width)*scale, float64(img.height)*scale
		content = fmt.Appendf(content, "q %s 0 0 %s %s %s cm /Im1 Do Q\n", num(iw), num(ih), num((cw-iw)/2), num((ch-ih)/2))
		res.Set("XObject", pdf.NewDict("Im1", imgRef))
	}
	if text != "" {
		f := pickFont(o.fontFamily, o.fontStyle)
		lines, size := layoutText(f, text, o.fontSize, cw, ch)
		fd := pdf.NewDict("Type", pdf.Name("Font"), "Subtype", pdf.Name("Type1"), "BaseFont", pdf.Name(f.base))
		if !f.symbol {
			fd.Set("Encoding", pdf.Name("WinAnsiEncoding"))
		}
		res.Set("Font", pdf.NewDict("F1", fd))
		col := fmt.Sprintf("%s %s %s", num(o.fontColor[0]), num(o.fontColor[1]), num(o.fontColor[2]))
		content = fmt.Appendf(content, "q 0 0 %s %s re W n\nBT /F1 %s Tf %s rg\n", num(cw), num(ch), num(size), col)
		var deco []byte
		for i, ln := range lines {
			y := ch - textMargin - size*float64(i) - size*0.8
			content = fmt.Appendf(content, "1 0 0 1 %s %s Tm ", num(textMargin), num(y))
			content = pdf.Append(content, pdf.String(ln))
			content = append(content, " Tj\n"...)
			lw := f.width(ln) * size
			if o.fontStyle&4 != 0 && lw > 0 {
				deco = fmt.Appendf(deco, "%s %s %s %s re f\n", num(textMargin), num(y-size*0.12), num(lw), num(size*0.05))
			}
			if o.fontStyle&8 != 0 && lw > 0 {
				deco = fmt.Appendf(deco, "%s %s %s %s re f\n", num(textMargin), num(y+size*0.28), num(lw), num(size*0.05))
			}
		}
		content = append(content, "ET\n"...)
		if len(deco) > 0 {
			content = fmt.Appendf(content, "%s rg\n", col)
			content = append(content, deco...)
		}
		content = append(content, "Q\n"...)
	}
	if len(content) == 0 {
		content = []byte("% empty\n")
	}
	d := pdf.NewDict("Type", pdf.Name("XObject"), "Subtype", pdf.Name("Form"), "FormType", int64(1),
		"BBox", pdf.Array{int64(0), int64(0), cw, ch})
	if total != 0 {
		s, c := sinCos(total)
		d.Set("Matrix", pdf.Array{c, s, -s, c, int64(0), int64(0)})
	}
	res.Set("ProcSet", pdf.Array{pdf.Name("PDF"), pdf.Name("Text"), pdf.Name("ImageC")})
	d.Set("Resources", res)
	return u.Add(&pdf.Stream{Dict: d, Data: content})
}

func sinCos(deg int) (float64, float64) {
	switch deg {
	case 90:
		return 1, 0
	case 180:
		return 0, -1
	case 270:
		return -1, 0
	}
	return 0, 1
}

func num(f float64) string {
	s := strconv.FormatFloat(f, 'f', 3, 64)
	for len(s) > 1 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
