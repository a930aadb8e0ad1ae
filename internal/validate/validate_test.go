package validate

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trifirma/trifirma/internal/testpki"
)

// recorder is a testing.TB that records failures instead of failing the real test, so that the
// self-tests can assert that each validator does fail on tampered input. FailNow/SkipNow end the
// goroutine the validation runs in (see record).
type recorder struct {
	testing.TB
	mu      sync.Mutex
	errs    []string
	skipped string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, s)
}
func (r *recorder) Helper()                           {}
func (r *recorder) Error(args ...any)                 { r.add(fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) { r.add(fmt.Sprintf(format, args...)) }
func (r *recorder) Fail()                             { r.add("Fail called") }
func (r *recorder) FailNow()                          { r.add("FailNow called"); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)                 { r.add(fmt.Sprint(args...)); runtime.Goexit() }
func (r *recorder) Fatalf(format string, args ...any) {
	r.add(fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs) > 0
}
func (r *recorder) Skip(args ...any) { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) SkipNow()      { r.skipped = "SkipNow"; runtime.Goexit() }
func (r *recorder) Skipped() bool { return r.skipped != "" }

// record runs f with a recorder in its own goroutine. A skip inside f (a validator not
// installed) skips t.
func record(t *testing.T, f func(tb testing.TB)) *recorder {
	t.Helper()
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(rec)
	}()
	<-done
	if rec.skipped != "" && len(rec.errs) == 0 {
		t.Skip(rec.skipped)
	}
	return rec
}

var validatorName = regexp.MustCompile(`^validate\.\w+ \[([^\]]+)\]`)

// failedValidators lists the validators that reported a failure.
func (r *recorder) failedValidators() []string {
	set := map[string]bool{}
	for _, e := range r.errs {
		if m := validatorName.FindStringSubmatch(e); m != nil {
			set[m[1]] = true
		} else {
			set["(other) "+e] = true
		}
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func harnessOn() bool { return os.Getenv("TRIFIRMA_SHARED") != "" }

// expectClean fails t when rec recorded anything.
func expectClean(t *testing.T, rec *recorder) {
	t.Helper()
	if len(rec.errs) > 0 {
		t.Fatalf("validation of a good signature failed:\n%s", strings.Join(rec.errs, "\n"))
	}
}

// expectFailures fails t unless every validator in want reported a failure.
func expectFailures(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	got := rec.failedValidators()
	for _, w := range want {
		found := false
		for _, g := range got {
			if g == w {
				found = true
			}
		}
		if !found {
			t.Errorf("validator %q did not fail; failures: %v\n%s", w, got, strings.Join(rec.errs, "\n"))
		}
	}
}

func needTool(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed", tool)
		}
		t.Skipf("%s not installed", tool)
	}
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func keyFiles(t *testing.T, id *testpki.Identity) (key, cert string) {
	t.Helper()
	dir := t.TempDir()
	k8, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, "key.pem", "PRIVATE KEY", k8), writePEM(t, dir, "cert.pem", "CERTIFICATE", id.Cert.Raw)
}

// opensslCMS signs data with openssl cms -sign -cades (attached or detached).
func opensslCMS(t *testing.T, id *testpki.Identity, data []byte, detached bool) []byte {
	t.Helper()
	needTool(t, "openssl")
	key, cert := keyFiles(t, id)
	dir := t.TempDir()
	in := filepath.Join(dir, "data.bin")
	out := filepath.Join(dir, "sig.p7s")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"cms", "-sign", "-binary", "-cades", "-md", "sha256", "-in", in, "-signer", cert, "-inkey", key, "-outform", "DER", "-out", out}
	if !detached {
		args = append(args, "-nodetach")
	}
	if o, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, o)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}

func TestCAdESSelf(t *testing.T) {
	pki := testpki.Get(t)
	data := []byte("Hola Mundo, trifirma validate self-test\n")
	roots := []*x509.Certificate{pki.Root}
	attached := opensslCMS(t, pki.RSA, data, false)
	detached := opensslCMS(t, pki.EC, data, true)
	contentAt := bytes.Index(attached, data)
	if contentAt < 0 {
		t.Fatal("content not found in the attached CMS")
	}
	mustFail := []string{"openssl-cms", "pkijs"}
	if harnessOn() {
		mustFail = append(mustFail, "harness verify-cades")
	}
	t.Run("good-attached", func(t *testing.T) {
		expectClean(t, record(t, func(tb testing.TB) { CAdES(tb, attached, Options{Roots: roots, Signers: 1}) }))
	})
	t.Run("good-attached-no-roots", func(t *testing.T) {
		expectClean(t, record(t, func(tb testing.TB) { CAdES(tb, attached, Options{}) }))
	})
	t.Run("good-attached-pem", func(t *testing.T) {
		p := pem.EncodeToMemory(&pem.Block{Type: "CMS", Bytes: attached})
		expectClean(t, record(t, func(tb testing.TB) { CAdES(tb, p, Options{Roots: roots, SkipHarness: true}) }))
	})
	t.Run("good-detached", func(t *testing.T) {
		expectClean(t, record(t, func(tb testing.TB) { CAdES(tb, detached, Options{Detached: data, Roots: roots, Signers: 1}) }))
	})
	t.Run("signature-value-flipped", func(t *testing.T) {
		rec := record(t, func(tb testing.TB) { CAdES(tb, flip(attached, len(attached)-5), Options{Roots: roots}) })
		expectFailures(t, rec, mustFail...)
	})
	t.Run("content-flipped", func(t *testing.T) {
		rec := record(t, func(tb testing.TB) { CAdES(tb, flip(attached, contentAt+3), Options{Roots: roots}) })
		expectFailures(t, rec, mustFail...)
	})
	t.Run("detached-data-changed", func(t *testing.T) {
		rec := record(t, func(tb testing.TB) { CAdES(tb, detached, Options{Detached: flip(data, 0), Roots: roots}) })
		expectFailures(t, rec, mustFail...)
	})
	t.Run("other-root", func(t *testing.T) {
		other := pki.Other.Chain[1]
		rec := record(t, func(tb testing.TB) { CAdES(tb, attached, Options{Roots: []*x509.Certificate{other}}) })
		expectFailures(t, rec, mustFail...)
	})
	t.Run("wrong-signer-count", func(t *testing.T) {
		rec := record(t, func(tb testing.TB) { CAdES(tb, attached, Options{Roots: roots, Signers: 2, SkipHarness: true}) })
		expectFailures(t, rec, "pkijs")
	})
}

// Countersignatures: the harness's samples (TRIFIRMA_SHARED only), a good one and one whose
// countersignature value is corrupted, which openssl does not see and pkijs must.
func TestCAdESCountersignatureSelf(t *testing.T) {
	shared := os.Getenv("TRIFIRMA_SHARED")
	if shared == "" {
		t.Skip("TRIFIRMA_SHARED not set: the countersigned samples come from the shared harness")
	}
	dir := filepath.Join(shared, "harness")
	roots := readCerts(t, filepath.Join(dir, "fixtures", "ca.pem"))
	good, err := os.ReadFile(filepath.Join(dir, "samples", "cades", "good-epes-bt-countersigned.p7m"))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := os.ReadFile(filepath.Join(dir, "samples", "cades", "bad-countersig-corrupted.p7m"))
	if err != nil {
		t.Fatal(err)
	}
	expectClean(t, record(t, func(tb testing.TB) { CAdES(tb, good, Options{Roots: roots, Signers: 2}) }))
	rec := record(t, func(tb testing.TB) { CAdES(tb, bad, Options{Roots: roots}) })
	expectFailures(t, rec, "pkijs", "harness verify-cades")
}

func readCerts(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := pemCerts(b)
	if err != nil || len(cs) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	return cs
}

// xadesTemplate is an enveloped XAdES-B-B template for xmlsec1 --sign, made for id.
func xadesTemplate(t *testing.T, id *testpki.Identity) []byte {
	t.Helper()
	certDigest := sha256.Sum256(id.Cert.Raw)
	gns, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: id.Cert.RawIssuer}})
	if err != nil {
		t.Fatal(err)
	}
	issuerSerial, err := asn1.Marshal(struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}{asn1.RawValue{FullBytes: gns}, id.Cert.SerialNumber})
	if err != nil {
		t.Fatal(err)
	}
	const (
		excC14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
		sha256U = "http://www.w3.org/2001/04/xmlenc#sha256"
	)
	sigAlg := "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	if id.Cert.PublicKeyAlgorithm == x509.ECDSA {
		sigAlg = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<doc xmlns="urn:trifirma:validate-test"><item>Hola Mundo</item>` +
		`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="sig-1"><ds:SignedInfo>` +
		`<ds:CanonicalizationMethod Algorithm="` + excC14N + `"/><ds:SignatureMethod Algorithm="` + sigAlg + `"/>` +
		`<ds:Reference Id="ref-data" URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
		`<ds:Transform Algorithm="` + excC14N + `"/></ds:Transforms><ds:DigestMethod Algorithm="` + sha256U + `"/><ds:DigestValue/></ds:Reference>` +
		`<ds:Reference Type="http://uri.etsi.org/01903#SignedProperties" URI="#sig-1-signedprops"><ds:Transforms><ds:Transform Algorithm="` + excC14N + `"/></ds:Transforms>` +
		`<ds:DigestMethod Algorithm="` + sha256U + `"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>` +
		`<ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(id.Cert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>` +
		`<ds:Object><xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" Target="#sig-1"><xades:SignedProperties Id="sig-1-signedprops">` +
		`<xades:SignedSignatureProperties><xades:SigningTime>` + time.Now().UTC().Format(time.RFC3339) + `</xades:SigningTime>` +
		`<xades:SigningCertificateV2><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="` + sha256U + `"/><ds:DigestValue>` +
		base64.StdEncoding.EncodeToString(certDigest[:]) + `</ds:DigestValue></xades:CertDigest><xades:IssuerSerialV2>` +
		base64.StdEncoding.EncodeToString(issuerSerial) + `</xades:IssuerSerialV2></xades:Cert></xades:SigningCertificateV2></xades:SignedSignatureProperties>` +
		`<xades:SignedDataObjectProperties><xades:DataObjectFormat ObjectReference="#ref-data"><xades:MimeType>text/xml</xades:MimeType></xades:DataObjectFormat>` +
		`</xades:SignedDataObjectProperties></xades:SignedProperties></xades:QualifyingProperties></ds:Object></ds:Signature></doc>
`)
}

// xmlsecSign signs a template with xmlsec1.
func xmlsecSign(t *testing.T, id *testpki.Identity, tmpl []byte) []byte {
	t.Helper()
	needTool(t, "xmlsec1")
	key, _ := keyFiles(t, id)
	dir := t.TempDir()
	in := filepath.Join(dir, "tmpl.xml")
	out := filepath.Join(dir, "signed.xml")
	if err := os.WriteFile(in, tmpl, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--sign", "--privkey-pem", key, "--id-attr:Id", nsXAdES + ":SignedProperties", "--output", out, in}
	if o, err := exec.Command("xmlsec1", args...).CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 %v: %v\n%s", args, err, o)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestXAdESSelf(t *testing.T) {
	pki := testpki.Get(t)
	roots := []*x509.Certificate{pki.Root}
	mustFail := []string{"xmlsec1", "xadesjs"}
	if harnessOn() {
		mustFail = append(mustFail, "harness verify-xades")
	}
	for name, id := range pki.Identities() {
		t.Run(name, func(t *testing.T) {
			signed := xmlsecSign(t, id, xadesTemplate(t, id))
			// RSA runs every case; ECDSA (slow only through the harness) the main ones.
			full := name == "RSA"
			t.Run("good", func(t *testing.T) {
				expectClean(t, record(t, func(tb testing.TB) { XAdES(tb, signed, Options{Roots: roots, Signers: 1}) }))
			})
			t.Run("good-no-roots", func(t *testing.T) {
				if !full {
					t.Skip("covered by the RSA case")
				}
				expectClean(t, record(t, func(tb testing.TB) { XAdES(tb, signed, Options{}) }))
			})
			t.Run("content-modified", func(t *testing.T) {
				if !full {
					t.Skip("covered by the RSA case")
				}
				bad := bytes.Replace(signed, []byte("Hola Mundo"), []byte("Hola Mundo!"), 1)
				expectFailures(t, record(t, func(tb testing.TB) { XAdES(tb, bad, Options{Roots: roots}) }), mustFail...)
			})
			t.Run("signed-properties-modified", func(t *testing.T) {
				if !full {
					t.Skip("covered by the RSA case")
				}
				bad := regexp.MustCompile(`<xades:MimeType>text/xml`).ReplaceAll(signed, []byte("<xades:MimeType>text/plain"))
				expectFailures(t, record(t, func(tb testing.TB) { XAdES(tb, bad, Options{Roots: roots}) }), mustFail...)
			})
			t.Run("signature-value-modified", func(t *testing.T) {
				re := regexp.MustCompile(`<ds:SignatureValue>([A-Za-z0-9+/]{8})`)
				loc := re.FindSubmatchIndex(signed)
				if loc == nil {
					t.Fatal("no SignatureValue")
				}
				bad := bytes.Clone(signed)
				if bad[loc[2]] == 'A' {
					bad[loc[2]] = 'B'
				} else {
					bad[loc[2]] = 'A'
				}
				expectFailures(t, record(t, func(tb testing.TB) { XAdES(tb, bad, Options{Roots: roots}) }), mustFail...)
			})
			t.Run("other-root", func(t *testing.T) {
				if !full {
					t.Skip("covered by the RSA case")
				}
				rec := record(t, func(tb testing.TB) {
					XAdES(tb, signed, Options{Roots: []*x509.Certificate{pki.Other.Chain[1]}, SkipHarness: true})
				})
				expectFailures(t, rec, "xmlsec1")
			})
			t.Run("wrong-signer-count", func(t *testing.T) {
				if !full {
					t.Skip("covered by the RSA case")
				}
				rec := record(t, func(tb testing.TB) { XAdES(tb, signed, Options{Signers: 2, SkipHarness: true}) })
				expectFailures(t, rec, "document", "xadesjs")
			})
		})
	}
}

func TestScanXML(t *testing.T) {
	doc := []byte(`<a xmlns:ds="` + nsDS + `"><b Id="x">t</b><c id="unref"/><ds:Signature Id="s"><ds:SignedInfo>` +
		`<ds:Reference URI="#x"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>` +
		`<ds:Transform Algorithm="` + nsDS + `enveloped-signature"/></ds:Transforms></ds:Reference>` +
		`<ds:Reference URI="http://example.invalid/doc"/></ds:SignedInfo>` +
		`<ds:KeyInfo><ds:X509Data><ds:X509Certificate>AQID</ds:X509Certificate><ds:X509Certificate>BAUG</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature></a>`)
	info, err := scanXML(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(info.idAttrs, "|"); got != "Id b|Id "+nsDS+":Signature" {
		t.Errorf("idAttrs = %q", got)
	}
	if info.signatures != 1 || !bytes.Equal(info.firstCert[0], []byte{1, 2, 3}) || !info.envAfterCx[0] {
		t.Errorf("info = %+v", info)
	}
	if len(info.external) != 1 || info.external[0] != "http://example.invalid/doc" {
		t.Errorf("external = %q", info.external)
	}
	if _, err := scanXML([]byte("<a><b></a>")); err == nil {
		t.Error("malformed XML accepted")
	}
}

func TestSHA1Ignorable(t *testing.T) {
	info := &xmlInfo{signatures: 2, firstCert: [][]byte{nil, nil}}
	r := &run{o: Options{AllowSHA1: true}}
	tests := []struct {
		line   result
		ignore bool
	}{
		{result{name: "sig0.references", detail: "SignatureMethod uses SHA-1"}, true},
		{result{name: "sig1.references", detail: `reference #a uses SHA-1 digest; SignatureMethod uses SHA-1; reference "" applies enveloped-signature after c14n, to a re-parsed node-set (outside XML-DSig 6.6.4; the identity there)`}, true},
		{result{name: "sig0.references", detail: `reference "" applies enveloped-signature after c14n, to a re-parsed node-set (x; y)`}, false},
		{result{name: "sig0.references", detail: "SignatureMethod uses SHA-1; no data-object reference (only SignedProperties)"}, false},
		{result{name: "sig0.xadesjs-verify", detail: "SHA-1"}, false},
		{result{name: "sig0.signing-time", detail: "outside cert validity"}, false},
	}
	for _, tc := range tests {
		if got, _ := r.sha1Ignorable(tc.line, info); got != tc.ignore {
			t.Errorf("%s: %s: ignore = %v, want %v", tc.line.name, tc.line.detail, got, tc.ignore)
		}
	}
	r.o.AllowSHA1 = false
	if got, _ := r.sha1Ignorable(tests[0].line, info); got {
		t.Error("ignored without AllowSHA1")
	}
	// A signature made under Options.Roots (a new one) is never excused.
	pki := testpki.Get(t)
	r = &run{o: Options{AllowSHA1: true, Roots: []*x509.Certificate{pki.Root}}}
	info = &xmlInfo{signatures: 2, firstCert: [][]byte{pki.Other.Cert.Raw, pki.RSA.Cert.Raw}}
	if got, _ := r.sha1Ignorable(result{name: "sig0.references", detail: "SignatureMethod uses SHA-1"}, info); !got {
		t.Error("SHA-1 of an existing signature (other root) not ignored")
	}
	if got, _ := r.sha1Ignorable(result{name: "sig1.references", detail: "SignatureMethod uses SHA-1"}, info); got {
		t.Error("SHA-1 of a new signature (test PKI) ignored")
	}
}

func TestExpiredIgnorable(t *testing.T) {
	r := &run{o: Options{AllowExpired: true}}
	line := result{name: "openssl-cms-verify", detail: "CMS Verification failure CMS routines:cms_signerinfo_verify_cert:certificate verify errorVerify error: certificate has expired "}
	if ok, _ := r.expiredIgnorable(line); !ok {
		t.Error("expired line not ignored")
	}
	if ok, _ := r.expiredIgnorable(result{name: "openssl-cms-verify", detail: "CMS Verification failure CMS routines:CMS_SignerInfo_verify_content:verification failure"}); ok {
		t.Error("verification failure ignored")
	}
	if ok, _ := r.expiredIgnorable(result{name: "pdfsig0.cms.signer0.signing-time", detail: "2014-10-21T12:25:44Z outside cert validity Mar 1 10:17:35 2011 GMT .. Feb 28 10:17:35 2014 GMT"}); !ok {
		t.Error("signing time of an expired certificate not ignored")
	}
	if ok, _ := r.expiredIgnorable(result{name: "pdfsig1.cms.signer0.signing-time", detail: "2099-10-21T12:25:44Z outside cert validity Mar 1 10:17:35 2011 GMT .. Feb 28 10:17:35 2090 GMT"}); ok {
		t.Error("signing time of a valid certificate ignored")
	}
	r.o.AllowExpired = false
	if ok, _ := r.expiredIgnorable(line); ok {
		t.Error("ignored without AllowExpired")
	}
}

// PAdES: the harness's samples (TRIFIRMA_SHARED only).
func TestPAdESSelf(t *testing.T) {
	shared := os.Getenv("TRIFIRMA_SHARED")
	if shared == "" {
		t.Skip("TRIFIRMA_SHARED not set: the PAdES samples come from the shared harness")
	}
	dir := filepath.Join(shared, "harness")
	roots := readCerts(t, filepath.Join(dir, "fixtures", "ca.pem"))
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, "samples", "pades", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := read("good-two-signatures.pdf")
	t.Run("good-two-signatures", func(t *testing.T) {
		expectClean(t, record(t, func(tb testing.TB) { PAdES(tb, good, Options{Roots: roots, Signers: 2}) }))
	})
	t.Run("good-etsi-bb-no-roots", func(t *testing.T) {
		expectClean(t, record(t, func(tb testing.TB) { PAdES(tb, read("good-etsi-bb.pdf"), Options{Signers: 1}) }))
	})
	t.Run("sigvalue-flipped", func(t *testing.T) {
		rec := record(t, func(tb testing.TB) { PAdES(tb, read("bad-sigvalue-flipped.pdf"), Options{Roots: roots}) })
		expectFailures(t, rec, "pdfsig", "pdfcpu", "harness verify-pades")
	})
	t.Run("content-modified", func(t *testing.T) {
		rec := record(t, func(tb testing.TB) { PAdES(tb, read("bad-content-modified.pdf"), Options{Roots: roots}) })
		expectFailures(t, rec, "pdfsig", "pdfcpu", "harness verify-pades")
	})
	t.Run("byterange-gap", func(t *testing.T) {
		rec := record(t, func(tb testing.TB) { PAdES(tb, read("bad-byterange-gap.pdf"), Options{Roots: roots}) })
		expectFailures(t, rec, "byterange", "harness verify-pades")
	})
	t.Run("appended-garbage", func(t *testing.T) {
		rec := record(t, func(tb testing.TB) { PAdES(tb, read("bad-appended-garbage.pdf"), Options{Roots: roots}) })
		expectFailures(t, rec, "byterange", "pdfsig", "harness verify-pades")
	})
	t.Run("xref-damaged", func(t *testing.T) {
		// Point startxref somewhere wrong (same length, so the ByteRange still covers the file).
		i := bytes.LastIndex(good, []byte("startxref"))
		if i < 0 {
			t.Fatal("no startxref")
		}
		bad := bytes.Clone(good)
		j := i + len("startxref")
		for j < len(bad) && (bad[j] == '\r' || bad[j] == '\n') {
			j++
		}
		bad[j] = '1'
		rec := record(t, func(tb testing.TB) { PAdES(tb, bad, Options{Roots: roots}) })
		expectFailures(t, rec, "qpdf")
	})
	t.Run("other-root", func(t *testing.T) {
		pki := testpki.Get(t)
		rec := record(t, func(tb testing.TB) { PAdES(tb, good, Options{Roots: []*x509.Certificate{pki.Root}, SkipHarness: true}) })
		expectFailures(t, rec, "pdfsig", "pdfcpu")
	})
}

func TestByteRangeCheck(t *testing.T) {
	contents := "<" + strings.Repeat("0", 16) + ">"
	body := "%PDF-1.7\n1 0 obj <</Type/Sig/ByteRange [0 AAAA BBBB CCCC] /Contents " + contents + " >> endobj\n%%EOF\n"
	b := strings.Index(body, "<0")
	c := b + len(contents)
	mk := func(s string, a, bb, cc, d int) []byte {
		s = strings.Replace(s, "[0 AAAA BBBB CCCC]", fmt.Sprintf("[%d %4d %4d %4d]", a, bb, cc, d), 1)
		return []byte(s)
	}
	size := len(body) + 0
	tests := []struct {
		name string
		pdf  []byte
		ok   bool
	}{
		{"good", mk(body, 0, b, c, size-c), true},
		{"short", mk(body, 0, b, c, size-c-1), false},
		{"not-from-zero", mk(body, 1, b-1, c, size-c), false},
		{"gap-not-hex-string", mk(body, 0, b+1, c, size-c), false},
		{"past-end", mk(body, 0, b, c, size-c+1), false},
		{"no-byterange", []byte("%PDF-1.7\n%%EOF\n"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := record(t, func(tb testing.TB) {
				r := &run{t: tb, kind: "PAdES"}
				r.checkByteRanges(tc.pdf)
			})
			if got := len(rec.errs) == 0; got != tc.ok {
				t.Fatalf("ok = %v, want %v: %v", got, tc.ok, rec.errs)
			}
		})
	}
}

// Signatures by Cliente @firma (reference data): SHA-1, expired certificates and enveloped-
// signature after C14N pass with AllowSHA1/AllowExpired, and fail without.
func TestRefdataLegacyInputs(t *testing.T) {
	shared := os.Getenv("TRIFIRMA_SHARED")
	if shared == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TRIFIRMA_SHARED is not set (required in CI)")
		}
		t.Skip("TRIFIRMA_SHARED not set")
	}
	legacy := Options{AllowSHA1: true, AllowExpired: true}
	tests := []struct {
		file    string
		check   func(testing.TB, []byte, Options)
		signers int
	}{
		{"cades/cofirma_tri.csig", CAdES, 2},
		{"cades/countersign-cades.csig", CAdES, 4},
		{"xades/cofirma-xades-enveloped.xml", XAdES, 2},
		{"xades/contrafirma-xades-enveloped.xml", XAdES, 4},
		{"pades/DOSFIRMAS.pdf", PAdES, 2},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(shared, "refdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			o := legacy
			o.Signers = tc.signers
			expectClean(t, record(t, func(tb testing.TB) { tc.check(tb, b, o) }))
			rec := record(t, func(tb testing.TB) { tc.check(tb, b, Options{}) })
			expectFailures(t, rec, "harness "+map[string]string{".csig": "verify-cades", ".xml": "verify-xades", ".pdf": "verify-pades"}[filepath.Ext(tc.file)])
		})
	}
}

// A missing validator skips the test, or fails it when CI is set.
func TestMissingToolPolicy(t *testing.T) {
	sig := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	t.Setenv("PATH", t.TempDir())
	t.Run("skip", func(t *testing.T) {
		t.Setenv("CI", "")
		rec := &recorder{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); CAdES(rec, sig, Options{SkipHarness: true}) }()
		<-done
		if !strings.Contains(rec.skipped, "openssl") || !strings.Contains(rec.skipped, "node") {
			t.Fatalf("skipped = %q, errs = %v", rec.skipped, rec.errs)
		}
	})
	t.Run("ci-fails", func(t *testing.T) {
		t.Setenv("CI", "true")
		rec := &recorder{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			XAdES(rec, []byte(`<a><ds:Signature xmlns:ds="`+nsDS+`"/></a>`), Options{SkipHarness: true})
		}()
		<-done
		if rec.skipped != "" || len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "xmlsec1") || !strings.Contains(rec.errs[0], "CI is set") {
			t.Fatalf("skipped = %q, errs = %v", rec.skipped, rec.errs)
		}
	})
	t.Run("harness-required", func(t *testing.T) {
		t.Setenv("CI", "")
		t.Setenv("TRIFIRMA_SHARED", "")
		rec := &recorder{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); CAdES(rec, sig, Options{Harness: true}) }()
		<-done
		if !strings.Contains(rec.skipped, "TRIFIRMA_SHARED") {
			t.Fatalf("skipped = %q, errs = %v", rec.skipped, rec.errs)
		}
	})
}

func TestCollectArtefact(t *testing.T) {
	for _, tc := range []struct {
		x    result
		want bool
	}{
		{result{name: "xades-check", detail: "exited 1: "}, true},
		{result{name: "cades-check", detail: "exited 1:"}, true},
		{result{name: "xades-check", detail: "exited 1: TypeError: boom"}, false},
		{result{name: "sig0.references", detail: "exited 1: "}, false},
	} {
		if got := collectArtefact(tc.x); got != tc.want {
			t.Errorf("collectArtefact(%+v) = %v", tc.x, got)
		}
	}
}
