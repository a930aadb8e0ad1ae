package pades_test

import (
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testenv"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
)

// tool runs an installed program (skipping, or failing under CI, when it is missing).
func tool(t *testing.T, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		testenv.Missing(t, name+" is not installed (scripts/test.sh installs it)")
	}
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// TestCorpus builds PDFs with the producers the test machine has (Ghostscript, cairo, qpdf
// rewrites with object streams, xref streams and linearization, encryption, a 1,000-page
// document and, without -short, a file over 100 MB), then signs and co-signs each one.
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
