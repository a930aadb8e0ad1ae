package pades_test

import (
	"context"
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testenv"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
)

// tool runs an installed program (skipping, or failing under CI, when it is missing).
func tool(t *testing.T, name string, args ...string) {
	t.Helper()
	toolIn(t, "", nil, name, args...)
}

// toolIn runs an installed program in dir with extra environment variables, for at most two
// minutes.
func toolIn(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		testenv.Missing(t, name+" is not installed (scripts/test.sh installs it)")
	}
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(c, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// plainTeX is a two-page plain TeX document; pdfTeX writes it with object streams and a
// cross-reference stream (\pdfobjcompresslevel=2).
const plainTeX = `\pdfobjcompresslevel=2 \pdfcompresslevel=9
\font\big=cmr17 {\big Documento de prueba}\par
Generado por pdf\TeX\ para el corpus de firma PAdES de trifirma: dos p\'aginas, texto y una regla.\par
\hrule\vfill\eject
Segunda p\'agina.\bye
`

// flatODT is a LibreOffice Writer document in the flat XML form (.fodt).
const flatODT = `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"
 office:mimetype="application/vnd.oasis.opendocument.text">
<office:body><office:text>
<text:h text:outline-level="1">Documento de prueba</text:h>
<text:p>Generado por LibreOffice Writer para el corpus de firma PAdES de trifirma.</text:p>
</office:text></office:body></office:document>
`

// writeFile writes a test input, failing the test on error.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// moveFile renames a produced file to the corpus entry's path.
func moveFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// TestCorpus builds PDFs with the producers the test machine has (pdfTeX, LibreOffice Writer,
// Ghostscript, cairo, qpdf rewrites with object streams, xref streams and linearization,
// encryption, a 1,000-page document and, without -short, a file over 100 MB), then signs and
// co-signs each one and validates both signatures.
func TestCorpus(t *testing.T) {
	pki := testpki.Get(t)
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.pdf")
	if err := os.WriteFile(seed, pdftest.Build(pdftest.Options{Pages: 4, Form: true}), 0o644); err != nil {
		t.Fatal(err)
	}
	type entry struct {
		name     string
		make     func(t *testing.T, out string)
		password string
		heavy    bool
		// linearized originals confuse the shared harness's revision split (it reads the
		// first-page section as a revision): judge it against the input's own verdicts.
		linearized bool
	}
	corpus := []entry{
		{name: "pdftex", make: func(t *testing.T, out string) {
			work := t.TempDir()
			writeFile(t, filepath.Join(work, "doc.tex"), plainTeX)
			toolIn(t, work, []string{"HOME=" + work}, "pdftex", "-interaction=batchmode", "-halt-on-error", "doc.tex")
			moveFile(t, filepath.Join(work, "doc.pdf"), out)
		}},
		{name: "libreoffice-writer", make: func(t *testing.T, out string) {
			work := t.TempDir()
			writeFile(t, filepath.Join(work, "doc.fodt"), flatODT)
			// A profile of its own: soffice refuses to start twice on one profile, and the
			// first start in a fresh profile takes several seconds.
			toolIn(t, work, []string{"HOME=" + work}, "soffice", "--headless", "--norestore",
				"-env:UserInstallation=file://"+filepath.Join(work, "profile"),
				"--convert-to", "pdf", "--outdir", work, filepath.Join(work, "doc.fodt"))
			moveFile(t, filepath.Join(work, "doc.pdf"), out)
		}},
		{name: "ghostscript-pdfwrite", make: func(t *testing.T, out string) {
			tool(t, "gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", "-sOutputFile="+out, seed)
		}},
		{name: "cairo", make: func(t *testing.T, out string) { tool(t, "pdftocairo", "-pdf", seed, out) }},
		{name: "qpdf-objstm-xrefstream", make: func(t *testing.T, out string) {
			tool(t, "qpdf", "--object-streams=generate", seed, out)
		}},
		{name: "qpdf-linearized", linearized: true, make: func(t *testing.T, out string) { tool(t, "qpdf", "--linearize", seed, out) }},
		{name: "qpdf-linearized-objstm", linearized: true, make: func(t *testing.T, out string) {
			tool(t, "qpdf", "--linearize", "--object-streams=generate", seed, out)
		}},
		{name: "qpdf-uncompressed-qdf", make: func(t *testing.T, out string) { tool(t, "qpdf", "--qdf", seed, out) }},
		{name: "qpdf-aes256", password: "clave", make: func(t *testing.T, out string) {
			tool(t, "qpdf", "--encrypt", "", "clave", "256", "--", seed, out)
		}},
		{name: "1000-pages-objstm", make: func(t *testing.T, out string) {
			big := filepath.Join(dir, "1000.pdf")
			if err := os.WriteFile(big, pdftest.Build(pdftest.Options{Pages: 1000}), 0o644); err != nil {
				t.Fatal(err)
			}
			tool(t, "qpdf", "--object-streams=generate", big, out)
		}},
		{name: "110MB", heavy: true, make: func(t *testing.T, out string) {
			if err := os.WriteFile(out, pdftest.Build(pdftest.Options{Pages: 2, Padding: 110 << 20}), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range corpus {
		t.Run(c.name, func(t *testing.T) {
			if c.heavy && testing.Short() {
				t.Skip("heavy corpus entry skipped with -short")
			}
			path := filepath.Join(dir, c.name+".pdf")
			c.make(t, path)
			doc, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p := trifirma.Params{}
			if c.password != "" {
				p["ownerPassword"] = c.password
			}
			first := mustSign(t, doc, pki.RSA, crypto.SHA256, p.Clone())
			vis := p.Clone()
			vis["signaturePositionOnPageLowerLeftX"] = "60"
			vis["signaturePositionOnPageLowerLeftY"] = "60"
			vis["signaturePositionOnPageUpperRightX"] = "260"
			vis["signaturePositionOnPageUpperRightY"] = "130"
			second := mustSign(t, first, pki.EC, crypto.SHA512, vis)
			switch {
			case c.password != "":
				checkEncrypted(t, second, c.password, 2)
			case c.linearized:
				check(t, second, 2, validate.Options{SkipHarness: true})
				if os.Getenv("TRIFIRMA_SHARED") != "" {
					harnessDiff(t, doc, second, nil)
				}
			case c.heavy:
				// The in-process pdfcpu reads every object: check the heavy file with the tools.
				checkTools(t, second, "", 2)
			default:
				check(t, second, 2, validate.Options{})
			}
		})
	}
}
