// Package validate checks signatures produced in tests with validators we did not write, and
// fails the test on any problem they report:
//
//   - CAdES: openssl cms -verify, and pkijs SignedData.verify (every SignerInfo and, recursively,
//     every countersignature);
//   - XAdES: xmlsec1 --verify and xadesjs/xmldsigjs SignedXml.Verify, for every ds:Signature;
//   - PAdES: poppler's pdfsig, qpdf --check, pdfcpu's api.ValidateSignatures (in process) and a
//     ByteRange check of our own;
//   - all three: the shared harness ($TRIFIRMA_SHARED/harness/verify-*) when TRIFIRMA_SHARED is set.
//
// A validator that is not installed skips the test with an install hint, except when the
// environment variable CI is non-empty: then the test fails. scripts/test.sh installs them all.
// The Node validators live in internal/validate/js (npm ci there; scripts/test.sh does it).
//
// Every helper writes its temporary files under t.TempDir() and never touches the network:
// pdfsig runs without OCSP, pdfcpu offline, xmlsec1 only with external references mapped to
// Options.Detached.
package validate

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options tunes a validation.
type Options struct {
	// Detached is the signed content of a detached signature: CAdES explicit, or the data of
	// XAdES externally detached references (every external URI is mapped to it).
	Detached []byte
	// Roots are the trust anchors (the test PKI root). With none, no validator checks the
	// certificate chain (only the signatures themselves).
	Roots []*x509.Certificate
	// Signers, when > 0, is the expected number of signatures: SignerInfos including
	// countersignatures (CAdES, checked by the pkijs script), ds:Signature elements (XAdES), or
	// PDF signatures (PAdES, checked with pdfsig and pdfcpu).
	Signers int
	// AllowSHA1 is for legacy inputs (reference data) that already hold SHA-1 signatures: the
	// harness FAIL lines that are only about SHA-1 on such existing signatures are ignored (see
	// harnessIgnorable for exactly which lines). Validators other than the harness never fail
	// on SHA-1 anyway.
	AllowSHA1 bool
	// AllowExpired is for legacy inputs whose existing signatures carry certificates that have
	// expired: the harness's openssl lines whose only reason is "certificate has expired" are
	// ignored (our own openssl run checks every signature without time checks when Roots is
	// empty, and the test PKI's certificates never expire during a test).
	AllowExpired bool
	// Harness makes the shared harness mandatory: without TRIFIRMA_SHARED the test is skipped
	// (or fails under CI). The zero value runs the harness whenever TRIFIRMA_SHARED is set.
	Harness bool
	// SkipHarness never runs the shared harness (for inputs it judges by rules beyond
	// signature validity, such as plain XML-DSig without XAdES properties).
	SkipHarness bool
}

// run is one validation: it collects failures per validator and the tools that are missing.
type run struct {
	t       testing.TB
	kind    string
	o       Options
	dir     string
	missing []string
	roots   string // PEM file of o.Roots ("" when none)
}

func newRun(t testing.TB, kind string, o Options) *run {
	t.Helper()
	r := &run{t: t, kind: kind, o: o, dir: t.TempDir()}
	if len(o.Roots) > 0 {
		var buf bytes.Buffer
		for _, c := range o.Roots {
			_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		r.roots = r.write("roots.pem", buf.Bytes())
	}
	return r
}

// failf records a failure of one validator; the test goes on so that every validator reports.
func (r *run) failf(validator, format string, args ...any) {
	r.t.Helper()
	r.t.Errorf("validate.%s [%s]: %s", r.kind, validator, fmt.Sprintf(format, args...))
}

func (r *run) logf(format string, args ...any) {
	r.t.Helper()
	r.t.Logf("validate.%s: %s", r.kind, fmt.Sprintf(format, args...))
}

// write stores data in the run's temporary directory and returns the path.
func (r *run) write(name string, data []byte) string {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		r.t.Fatalf("validate.%s: %v", r.kind, err)
	}
	return p
}

// have reports whether tool is on PATH, recording it as missing (with hint) otherwise.
func (r *run) have(tool, hint string) bool {
	if _, err := exec.LookPath(tool); err != nil {
		r.missing = append(r.missing, fmt.Sprintf("%s (%s)", tool, hint))
		return false
	}
	return true
}

// finish skips (or under CI fails) the test when a validator could not run. Failures already
// recorded keep the test failed even when it is then skipped.
func (r *run) finish() {
	r.t.Helper()
	if len(r.missing) == 0 {
		return
	}
	msg := fmt.Sprintf("validate.%s: validators not available: %s; scripts/test.sh installs them", r.kind, strings.Join(r.missing, "; "))
	if os.Getenv("CI") != "" {
		r.t.Fatalf("%s (CI is set: a missing validator is a failure)", msg)
	}
	r.t.Skip(msg)
}

// cmdTimeout bounds every external validator run.
const cmdTimeout = 5 * time.Minute

// exec runs name with args and returns its combined output and error.
func (r *run) exec(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.dir
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", cmdTimeout, ctx.Err())
	}
	return string(out), err
}

// jsDir is the directory of the Node validators (internal/validate/js).
func jsDir() string {
	if _, file, _, ok := runtime.Caller(0); ok {
		d := filepath.Join(filepath.Dir(file), "js")
		if _, err := os.Stat(filepath.Join(d, "package.json")); err == nil {
			return d
		}
	}
	// Built with -trimpath: look upwards from the working directory.
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		c := filepath.Join(d, "internal", "validate", "js")
		if _, err := os.Stat(filepath.Join(c, "package.json")); err == nil {
			return c
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, "js")
		}
	}
}

// node runs one of our Node scripts and returns its PASS/FAIL lines, the count it reports
// (-1 when none) and false when Node or the modules are not installed.
func (r *run) node(script string, args ...string) (results []result, count int, ok bool) {
	r.t.Helper()
	if !r.have("node", "apt-get install nodejs npm") {
		return nil, -1, false
	}
	dir := jsDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "pkijs")); err != nil {
		r.missing = append(r.missing, fmt.Sprintf("node modules (npm ci in %s)", dir))
		return nil, -1, false
	}
	out, err := r.exec("node", append([]string{filepath.Join(dir, script)}, args...)...)
	results, count = parseResults(out)
	if err != nil && !hasFail(results) {
		results = append(results, result{ok: false, name: script, detail: fmt.Sprintf("exited with %v: %s", err, tail(out, 800))})
	}
	return results, count, true
}

// result is one PASS/FAIL line of a validator.
type result struct {
	ok     bool
	name   string
	detail string
}

var resultLine = regexp.MustCompile(`^(PASS|FAIL) ([^:]+): ?(.*)$`)
var countLine = regexp.MustCompile(`^COUNT (\d+)$`)

func parseResults(out string) ([]result, int) {
	var res []result
	count := -1
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := resultLine.FindStringSubmatch(line); m != nil {
			res = append(res, result{ok: m[1] == "PASS", name: m[2], detail: m[3]})
		} else if m := countLine.FindStringSubmatch(line); m != nil {
			fmt.Sscan(m[1], &count)
		}
	}
	return res, count
}

func hasFail(rs []result) bool {
	for _, r := range rs {
		if !r.ok {
			return true
		}
	}
	return false
}

// report turns FAIL lines into test failures of validator.
func (r *run) report(validator string, rs []result) {
	r.t.Helper()
	for _, x := range rs {
		if !x.ok {
			r.failf(validator, "%s: %s", x.name, x.detail)
		}
	}
}

func (r *run) checkCount(validator string, got int) {
	r.t.Helper()
	if r.o.Signers > 0 && got >= 0 && got != r.o.Signers {
		r.failf(validator, "found %d signature(s), want %d", got, r.o.Signers)
	}
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// ---- shared harness

var harnessSummary = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed\s*$`)

// harness runs $TRIFIRMA_SHARED/harness/<entry> over file and requires "0 failed", apart from
// the lines that AllowSHA1/AllowExpired tolerate (ignore decides, given one FAIL line).
func (r *run) harness(entry, file string, ignore func(result) (bool, string)) {
	r.t.Helper()
	if r.o.SkipHarness {
		return
	}
	shared := os.Getenv("TRIFIRMA_SHARED")
	if shared == "" {
		if r.o.Harness {
			r.missing = append(r.missing, "shared harness (set TRIFIRMA_SHARED to the path of ../shared)")
		}
		return
	}
	bin := filepath.Join(shared, "harness", entry)
	if _, err := os.Stat(bin); err != nil {
		r.failf("harness "+entry, "TRIFIRMA_SHARED=%s has no harness/%s: %v", shared, entry, err)
		return
	}
	args := []string{file}
	if len(r.o.Detached) > 0 && entry != "verify-pades" {
		args = append(args, "--detached", r.write("harness-detached.bin", r.o.Detached))
	}
	if r.roots != "" {
		args = append(args, "--ca", r.roots)
	}
	var (
		out       string
		err       error
		m         [][]string
		rs        []result
		realFails int
	)
	// Under heavy load a harness Node script has been seen to exit 1 without printing any
	// verdict (its output lost); that is a failure to run, not a finding. Such a run (only
	// bare "exited N:" lines, no FAIL of substance) is retried, at most twice; a real finding
	// reproduces and is reported.
	for attempt := 1; ; attempt++ {
		out, err = r.exec(bin, args...)
		m = harnessSummary.FindAllStringSubmatch(out, -1)
		if len(m) == 0 {
			r.failf("harness "+entry, "no \"N passed, N failed\" line (exit: %v):\n%s", err, tail(out, 3000))
			return
		}
		rs, _ = parseResults(out)
		artefacts := 0
		realFails = 0
		for _, x := range rs {
			switch {
			case x.ok:
			case collectArtefact(x):
				artefacts++
			default:
				realFails++
			}
		}
		if realFails > 0 || artefacts == 0 || attempt == 3 {
			break
		}
		r.logf("harness %s: a validator script exited without a verdict (attempt %d); running the harness again", entry, attempt)
	}
	var bad []string
	fails := 0
	for _, x := range rs {
		if x.ok {
			continue
		}
		fails++
		if collectArtefact(x) && realFails > 0 {
			// The harness's collect() adds "FAIL <script>: exited N: " when a script exits
			// non-zero and it sees no FAIL line; under load its pipefail+grep -q test races
			// (SIGPIPE) and adds it although FAIL lines are there. Those lines are judged
			// on their own; this one says nothing more.
			r.logf("harness %s: ignored FAIL %s: %s (exit status of a script whose FAIL lines are judged one by one)", entry, x.name, x.detail)
			continue
		}
		if ignore != nil {
			if skip, why := ignore(x); skip {
				r.logf("harness %s: ignored FAIL %s: %s (%s)", entry, x.name, x.detail, why)
				continue
			}
		}
		bad = append(bad, "FAIL "+x.name+": "+x.detail)
	}
	if last := m[len(m)-1]; last[2] != fmt.Sprint(fails) {
		bad = append(bad, fmt.Sprintf("summary says %s failed, %d FAIL line(s) found", last[2], fails))
	}
	if len(bad) > 0 {
		r.failf("harness "+entry, "%s\nfull output:\n%s", strings.Join(bad, "\n"), out)
	}
}

var collectExited = regexp.MustCompile(`^exited \d+:\s*$`)

// collectArtefact reports whether x is the harness's summary line for a Node script that
// exited non-zero, without any detail of its own.
func collectArtefact(x result) bool {
	switch x.name {
	case "cades-check", "xades-check", "pades-check":
		return collectExited.MatchString(x.detail)
	}
	return false
}

// splitTopLevel splits a harness detail on "; " outside parentheses.
func splitTopLevel(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case ';':
			if depth == 0 && i+1 < len(s) && s[i+1] == ' ' {
				parts = append(parts, s[start:i])
				start = i + 2
			}
		}
	}
	return append(parts, s[start:])
}

var expiredOnly = regexp.MustCompile(`^(CMS|CAdES) Verification failure CMS routines:cms_signerinfo_verify_cert:certificate verify error ?Verify error: ?certificate has expired\s*$`)

var signingTimeOutside = regexp.MustCompile(`^\S+ outside cert validity .+ \.\. (\w{3} +\d{1,2} \d\d:\d\d:\d\d \d{4}) GMT$`)

// expiredIgnorable decides, with AllowExpired, whether a harness FAIL line is only about an
// existing signer's expired certificate. Exactly these lines are ignored:
//   - openssl-cms-verify / openssl-cms-cades whose whole reason is OpenSSL's "certificate has
//     expired";
//   - "*.signing-time: T outside cert validity A .. B GMT" where B (the end of the signer
//     certificate's validity) is in the past: such a certificate cannot be one of the test PKI,
//     whose certificates are valid for 20 years.
func (r *run) expiredIgnorable(x result) (bool, string) {
	if !r.o.AllowExpired {
		return false, ""
	}
	detail := strings.TrimSpace(x.detail)
	if (x.name == "openssl-cms-verify" || x.name == "openssl-cms-cades") && expiredOnly.MatchString(detail) {
		return true, "AllowExpired: an existing signer's certificate has expired"
	}
	if strings.HasSuffix(x.name, ".signing-time") {
		if m := signingTimeOutside.FindStringSubmatch(detail); m != nil {
			end, err := time.Parse("Jan 2 15:04:05 2006", strings.Join(strings.Fields(m[1]), " "))
			if err == nil && end.Before(time.Now()) {
				return true, "AllowExpired: signing time of an existing signature whose certificate has expired"
			}
		}
	}
	return false, ""
}

// pemCerts parses every CERTIFICATE block of b.
func pemCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out, nil
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// issuedByRoots reports whether cert is one of the roots or directly issued by one (the test
// PKI has no intermediates).
func issuedByRoots(cert *x509.Certificate, roots []*x509.Certificate) bool {
	for _, root := range roots {
		if cert.Equal(root) {
			return true
		}
		if bytes.Equal(cert.RawIssuer, root.RawSubject) && cert.CheckSignatureFrom(root) == nil {
			return true
		}
	}
	return false
}

// pdfcpuMu serialises pdfcpu calls: its trusted certificate directory is a package variable.
var pdfcpuMu sync.Mutex
