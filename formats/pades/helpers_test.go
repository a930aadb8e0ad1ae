package pades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/pades"
	"github.com/trifirma/trifirma/internal/testenv"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
)

var ctx = context.Background()

// fixedTime is the signing time of deterministic tests.
var fixedTime = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func sign(t testing.TB, doc []byte, id *testpki.Identity, h crypto.Hash, p trifirma.Params) ([]byte, error) {
	t.Helper()
	return trifirma.Sign(ctx, doc, id.Key, id.Chain, trifirma.SignOptions{
		Engine: pades.New(pades.Config{}), Format: trifirma.FormatPAdES, Hash: h, Params: p, Time: fixedTime})
}

func mustSign(t testing.TB, doc []byte, id *testpki.Identity, h crypto.Hash, p trifirma.Params) []byte {
	t.Helper()
	out, err := sign(t, doc, id, h, p)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	if !bytes.HasPrefix(out, doc) {
		t.Fatal("the signed PDF does not start with the original bytes")
	}
	return out
}

// check validates a signed PDF with the independent validators.
func check(t testing.TB, out []byte, signers int, o validate.Options) {
	t.Helper()
	pki := testpki.Get(t)
	if o.Roots == nil {
		o.Roots = []*x509.Certificate{pki.Root}
	}
	o.Signers = signers
	validate.PAdES(t, out, o)
}

// checkEncrypted validates an encrypted output with qpdf and pdfsig given the password
// (the shared harness and pdfcpu cannot open encrypted files).
func checkEncrypted(t testing.TB, out []byte, password string, signers int) {
	checkTools(t, out, password, signers)
}

// checkTools validates out with qpdf --check and pdfsig only: for outputs pdfcpu or the shared
// harness cannot judge (encrypted files; certifications with P=2/3, whose permissions pdfcpu
// v0.15 reports as unsupported), completed by harnessDiff where the harness can read them.
func checkTools(t testing.TB, out []byte, password string, signers int) {
	t.Helper()
	for _, tool := range []string{"qpdf", "pdfsig"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, tool+" is not installed")
			return
		}
	}
	p := filepath.Join(t.TempDir(), "enc.pdf")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--check", p}
	if password != "" {
		args = append(args, "--password="+password)
	}
	res, err := exec.Command("qpdf", args...).CombinedOutput()
	if err != nil || bytes.Contains(res, []byte("WARNING")) {
		t.Fatalf("qpdf --check: %v\n%s", err, res)
	}
	args = []string{p}
	if password != "" {
		args = []string{"-opw", password, "-upw", password, p}
	}
	res, _ = exec.Command("pdfsig", args...).CombinedOutput()
	if n := bytes.Count(res, []byte("Signature is Valid.")); n != signers {
		t.Fatalf("pdfsig: %d valid signatures, want %d\n%s", n, signers, res)
	}
	if !bytes.Contains(res, []byte("Total document signed")) {
		t.Fatalf("pdfsig: the newest signature does not cover the file\n%s", res)
	}
}

func needConfig(t testing.TB, err error, code trifirma.RequestorCode, denied bool) {
	t.Helper()
	var ce *trifirma.ConfigNeededError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a ConfigNeededError", err)
	}
	if ce.Code != code || ce.Denied != denied {
		t.Fatalf("got %s (denied=%v), want %s (denied=%v): %v", ce.Code, ce.Denied, code, denied, err)
	}
}

func refdata(t testing.TB, sub, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Refdata(t, sub), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var harnessLine = regexp.MustCompile(`(?m)^(PASS|FAIL) ([^:]+):(.*)$`)

// harnessRun runs the shared harness on doc and returns its FAIL lines by check name.
func harnessRun(t testing.TB, doc []byte) map[string]string {
	t.Helper()
	bin := filepath.Join(testenv.Shared(t), "harness", "verify-pades")
	p := filepath.Join(t.TempDir(), "h.pdf")
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ := exec.Command(bin, p).CombinedOutput()
	fails := map[string]string{}
	for _, m := range harnessLine.FindAllStringSubmatch(string(res), -1) {
		if m[1] == "FAIL" {
			fails[m[2]] = m[3]
		}
	}
	return fails
}

// harnessDiff runs the shared harness on the input and on the signed output: every check that
// fails on the output must already fail on the input (legacy signatures with expired
// certificates, SHA-1, linearized originals), except the checks of the whole file and of the
// new signatures, which must pass. ignore may excuse further lines.
func harnessDiff(t testing.TB, in, out []byte, ignore func(name, detail string) bool) {
	t.Helper()
	base := harnessRun(t, in)
	oldSigs := countSignatures(t, in)
	for name, detail := range harnessRun(t, out) {
		if ignore != nil && ignore(name, detail) {
			continue
		}
		mustPass := name == "qpdf-check" || name == "pdfsig.coverage"
		for n := oldSigs; n < oldSigs+4; n++ {
			for _, pre := range []string{fmt.Sprintf("pdfsig.sig%d", n), fmt.Sprintf("pdfcpu.sig%d", n), fmt.Sprintf("pdfsig%d.", n)} {
				if strings.HasPrefix(name, pre) {
					mustPass = true
				}
			}
		}
		if _, known := base[name]; known && !mustPass {
			continue
		}
		t.Errorf("harness: FAIL %s:%s", name, detail)
	}
}
