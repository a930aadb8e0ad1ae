package validate

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// PAdES validates every signature of a PDF with poppler's pdfsig (each "Signature is Valid",
// the newest one covering the total document, and with Roots the signer certificate trusted
// through a temporary NSS database), qpdf --check (no errors or warnings), pdfcpu's
// api.ValidateSignatures in process (offline) and our own ByteRange check (each ByteRange
// starts at 0 and leaves out exactly its /Contents hex string; the newest reaches the end of the
// file), plus the shared harness's verify-pades when available.
func PAdES(t testing.TB, pdf []byte, o Options) {
	t.Helper()
	r := newRun(t, "PAdES", o)
	defer r.finish()
	if len(pdf) == 0 {
		r.failf("input", "empty PDF")
		return
	}
	file := r.write("signed.pdf", pdf)
	r.checkByteRanges(pdf)
	r.pdfsig(file)
	r.qpdf(file)
	r.pdfcpu(pdf)
	r.harness("verify-pades", file, r.expiredIgnorable)
}

var byteRangeRe = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// checkByteRanges checks every /ByteRange array of the file.
func (r *run) checkByteRanges(pdf []byte) {
	r.t.Helper()
	ms := byteRangeRe.FindAllSubmatch(pdf, -1)
	if len(ms) == 0 {
		r.failf("byterange", "no /ByteRange in the file")
		return
	}
	maxEnd := int64(0)
	seen := map[string]bool{}
	for _, m := range ms {
		var v [4]int64
		for i := range v {
			n, err := strconv.ParseInt(string(m[i+1]), 10, 64)
			if err != nil {
				r.failf("byterange", "ByteRange value %q: %v", m[i+1], err)
				return
			}
			v[i] = n
		}
		key := fmt.Sprint(v)
		if seen[key] {
			continue
		}
		seen[key] = true
		a, b, c, d := v[0], v[1], v[2], v[3]
		size := int64(len(pdf))
		if a != 0 || b <= 0 || c <= b || d < 0 || c+d > size {
			r.failf("byterange", "ByteRange %v does not fit a file of %d bytes (want [0 b c d], 0 < b < c, c+d <= size)", v, size)
			continue
		}
		gap := pdf[b:c]
		if len(gap) < 2 || gap[0] != '<' || gap[len(gap)-1] != '>' || !isHex(gap[1:len(gap)-1]) {
			r.failf("byterange", "ByteRange %v: the excluded bytes [%d, %d) are not exactly one hex string", v, b, c)
			continue
		}
		before := bytes.TrimRight(pdf[max(0, b-64):b], " \t\r\n")
		if !bytes.HasSuffix(before, []byte("/Contents")) {
			r.failf("byterange", "ByteRange %v: the excluded hex string is not the value of /Contents", v)
		}
		maxEnd = max(maxEnd, c+d)
	}
	if maxEnd != int64(len(pdf)) {
		r.failf("byterange", "no signature covers the whole file: the widest ByteRange ends at %d of %d bytes", maxEnd, len(pdf))
	}
}

func isHex(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}

var pdfsigSig = regexp.MustCompile(`(?m)^Signature #(\d+):`)

// pdfsig runs poppler's pdfsig. Without Roots the certificates are not validated (-nocert);
// with Roots they must be trusted through an NSS database holding only the roots, and pdfsig
// runs without network access (AIA fetching stays off too).
func (r *run) pdfsig(file string) {
	r.t.Helper()
	if !r.have("pdfsig", "apt-get install poppler-utils") {
		return
	}
	args := []string{"-nocert"}
	if r.roots != "" {
		if !r.have("certutil", "apt-get install libnss3-tools") {
			return
		}
		db := filepath.Join(r.dir, "nssdb")
		if err := os.MkdirAll(db, 0o700); err != nil {
			r.t.Fatalf("validate.PAdES: %v", err)
		}
		if out, err := r.exec("certutil", "-N", "-d", "sql:"+db, "--empty-password"); err != nil {
			r.failf("pdfsig", "certutil -N: %v: %s", err, tail(out, 500))
			return
		}
		for i, c := range r.o.Roots {
			pemFile := r.write(fmt.Sprintf("root%d.der", i), c.Raw)
			if out, err := r.exec("certutil", "-A", "-d", "sql:"+db, "-n", fmt.Sprintf("root%d", i), "-t", "CT,C,C", "-i", pemFile); err != nil {
				r.failf("pdfsig", "certutil -A: %v: %s", err, tail(out, 500))
				return
			}
		}
		args = []string{"-nssdir", "sql:" + db}
	}
	args = append(args, file)
	name := "pdfsig"
	if r.roots != "" {
		// poppler 22.12 reports "Unknown issue" for every certificate under -no-ocsp, so the
		// trust check runs with OCSP on, in a network namespace of its own: nothing can leave
		// the machine. Where that is not possible, pdfsig checks only the signatures and the
		// chain is left to pdfcpu and the harness.
		if canUnshareNet() {
			name, args = "unshare", append([]string{"-n", "pdfsig"}, args...)
		} else {
			r.logf("pdfsig: no network namespace available (unshare -n); certificate trust not checked by pdfsig")
			args = []string{"-nocert", file}
		}
	}
	out, _ := r.exec(name, args...)
	trust := r.roots != "" && name == "unshare"
	idx := pdfsigSig.FindAllStringSubmatchIndex(out, -1)
	if len(idx) == 0 {
		r.failf("pdfsig", "no signature found:\n%s", tail(out, 1500))
		return
	}
	r.checkCount("pdfsig", len(idx))
	for k, loc := range idx {
		end := len(out)
		if k+1 < len(idx) {
			end = idx[k+1][0]
		}
		block := out[loc[0]:end]
		if !strings.Contains(block, "Signature Validation: Signature is Valid.") {
			r.failf("pdfsig", "signature #%d is not valid:\n%s", k+1, block)
		}
		if trust && !strings.Contains(block, "Certificate Validation: Certificate is Trusted.") {
			r.failf("pdfsig", "signature #%d: certificate not trusted through the roots:\n%s", k+1, block)
		}
		if k == len(idx)-1 && !strings.Contains(block, "- Total document signed") {
			r.failf("pdfsig", "the newest signature (#%d) does not cover the total document:\n%s", k+1, block)
		}
	}
}

// qpdf runs qpdf --check: exit status 0 and no warning.
func (r *run) qpdf(file string) {
	r.t.Helper()
	if !r.have("qpdf", "apt-get install qpdf") {
		return
	}
	out, err := r.exec("qpdf", "--check", file)
	if err != nil || strings.Contains(strings.ToUpper(out), "WARNING") {
		r.failf("qpdf", "qpdf --check: %v\n%s", err, tail(out, 1500))
	}
}

// pdfcpu runs api.ValidateSignatures of pdfcpu v0.15.0 in process, offline, with a trusted
// certificate directory holding only the roots. It fails on status invalid and on the reasons
// that mean the signed bytes are bad (modified, forged, malformed, unsupported, internal).
func (r *run) pdfcpu(pdf []byte) {
	r.t.Helper()
	certDir := filepath.Join(r.dir, "pdfcpu-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		r.t.Fatalf("validate.PAdES: %v", err)
	}
	if r.roots != "" {
		b, err := os.ReadFile(r.roots)
		if err != nil {
			r.t.Fatalf("validate.PAdES: %v", err)
		}
		r.write(filepath.Join("pdfcpu-certs", "roots.pem"), b)
	}
	pdfcpuMu.Lock()
	api.DisableConfigDir()
	conf := model.NewDefaultConfiguration()
	conf.Offline = true
	model.TrustedCertDir = certDir
	results, err := api.ValidateSignaturesRaw(bytes.NewReader(pdf), true, conf)
	pdfcpuMu.Unlock()
	if err != nil {
		r.failf("pdfcpu", "ValidateSignatures: %v", err)
		return
	}
	r.checkCount("pdfcpu", len(results))
	// pdfcpu lists the newest signature first; number them oldest first like pdfsig.
	for i := range results {
		res := results[len(results)-1-i]
		bad := res.Status == model.SignatureStatusInvalid ||
			res.Reason == model.SignatureReasonDocModified ||
			res.Reason == model.SignatureReasonSignatureForged ||
			res.Reason == model.SignatureReasonMalformed ||
			res.Reason == model.SignatureReasonInternal ||
			res.Reason == model.SignatureReasonUnsupported ||
			res.DocModified == model.True
		probs := append([]string{}, res.Problems...)
		pathOK := len(res.Details.Signers) > 0
		for _, s := range res.Details.Signers {
			probs = append(probs, s.Problems...)
			if s.CertificatePathStatus != model.True {
				pathOK = false
			}
		}
		if bad {
			r.failf("pdfcpu", "signature %d (field %q): status %q, reason %q, problems: %s", i, res.Details.FieldName, res.Status, res.Reason, strings.Join(probs, "; "))
			continue
		}
		if r.roots != "" && !pathOK {
			r.failf("pdfcpu", "signature %d (field %q): signer certificate path does not resolve to the roots (status %q, reason %q): %s", i, res.Details.FieldName, res.Status, res.Reason, strings.Join(probs, "; "))
		}
	}
}

var (
	unshareOnce sync.Once
	unshareOK   bool
)

// canUnshareNet reports whether "unshare -n" can run a command without network access here.
func canUnshareNet() bool {
	unshareOnce.Do(func() {
		if _, err := exec.LookPath("unshare"); err != nil {
			return
		}
		unshareOK = exec.Command("unshare", "-n", "true").Run() == nil
	})
	return unshareOK
}
