package validate

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// CAdES validates a CMS/CAdES signature (DER, BER or PEM) with openssl cms -verify, with pkijs
// (every SignerInfo and, recursively, every countersignature in unsigned attribute
// 1.2.840.113549.1.9.6) and with the shared harness's verify-cades when available. o.Detached is
// the content of an explicit (detached) signature.
func CAdES(t testing.TB, sig []byte, o Options) {
	t.Helper()
	r := newRun(t, "CAdES", o)
	defer r.finish()
	if len(sig) == 0 {
		r.failf("input", "empty signature")
		return
	}
	file := r.write("signature.p7s", sig)
	var data string
	if len(o.Detached) > 0 {
		data = r.write("detached.bin", o.Detached)
	}
	r.opensslCMS(file, data, bytes.HasPrefix(bytes.TrimSpace(sig), []byte("-----BEGIN")))
	args := []string{file}
	if data != "" {
		args = append(args, "--detached", data)
	}
	if r.roots != "" {
		args = append(args, "--ca", r.roots)
	}
	if rs, count, ok := r.node("cades.js", args...); ok {
		r.report("pkijs", rs)
		if len(rs) == 0 {
			r.failf("pkijs", "the script reported nothing")
		}
		r.checkCount("pkijs", count)
	}
	r.harness("verify-cades", file, r.expiredIgnorable)
}

// opensslCMS runs openssl cms -verify. With Roots, the chain must reach them; without, the
// embedded certificates are trusted as a partial chain and validity periods are not checked
// (Roots empty means "no chain check"), so that only the signatures are judged.
func (r *run) opensslCMS(file, data string, isPEM bool) {
	r.t.Helper()
	if !r.have("openssl", "apt-get install openssl") {
		return
	}
	inform := "DER"
	if isPEM {
		inform = "PEM"
	}
	args := []string{"cms", "-verify", "-binary", "-inform", inform, "-in", file, "-purpose", "any", "-out", devNull}
	if data != "" {
		args = append(args, "-content", data)
	}
	if r.roots != "" {
		args = append(args, "-CAfile", r.roots)
	} else {
		certs := r.dir + "/embedded-certs.pem"
		out, err := r.exec("openssl", "pkcs7", "-inform", inform, "-in", file, "-print_certs", "-out", certs)
		if err != nil {
			r.failf("openssl-cms", "cannot read the embedded certificates: %v: %s", err, tail(out, 600))
			return
		}
		if st, err := os.Stat(certs); err == nil && st.Size() > 0 {
			args = append(args, "-CAfile", certs, "-partial_chain", "-no_check_time")
		} else {
			args = append(args, "-noverify")
		}
	}
	out, err := r.exec("openssl", args...)
	if err != nil || !strings.Contains(out, "Verification successful") {
		r.failf("openssl-cms", "openssl %s: %v\n%s", strings.Join(args, " "), err, tail(out, 1500))
	}
}

// devNull is where openssl writes the verified content, which the check does not need.
const devNull = "/dev/null"
