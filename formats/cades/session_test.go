package cades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/internal/cms"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
	"github.com/trifirma/trifirma/tsa/tsatest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func request(id *testpki.Identity, op trifirma.Operation, doc []byte, h crypto.Hash, p trifirma.Params) *trifirma.Request {
	kt, _ := trifirma.KeyTypeOf(id.Key.Public())
	return &trifirma.Request{Operation: op, Format: trifirma.FormatCAdES, Document: doc, Chain: id.Chain,
		Algorithm: trifirma.SignatureAlgorithm{Hash: h, Key: kt}, Params: p, Time: signTime}
}

// device signs every PRE of td like the client does.
func device(t testing.TB, id *testpki.Identity, alg trifirma.SignatureAlgorithm, td *trifirma.TriphaseData) {
	t.Helper()
	for _, s := range td.Signs {
		pre, err := s.Bytes(trifirma.ParamPRE)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := id.Key.Sign(rand.Reader, alg.Digest(pre), alg.SignerOpts())
		if err != nil {
			t.Fatal(err)
		}
		s.Set(trifirma.ParamPK1, trifirma.EncodeStd(sig))
	}
}

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestSessionShape(t *testing.T) {
	pki := testpki.Get(t)
	e := cades.New(cades.Config{})
	ctx := context.Background()
	doc := []byte("data")

	// sign, explicit (default): one firma, UUID Id, PRE + NEED_PRE, no NEED_DATA.
	td, err := e.Presign(ctx, request(pki.RSA, trifirma.OpSign, doc, crypto.SHA256, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(td.Signs) != 1 || !uuidRe.MatchString(td.Signs[0].ID) {
		t.Fatalf("session %s", td.Marshal())
	}
	if v, _ := td.Signs[0].Get(trifirma.ParamNeedPRE); v != "true" {
		t.Fatal("NEED_PRE missing")
	}
	if _, ok := td.Signs[0].Get(trifirma.ParamNeedData); ok {
		t.Fatal("NEED_DATA on an explicit signature")
	}
	// implicit + SignatureId.
	td, err = e.Presign(ctx, request(pki.RSA, trifirma.OpSign, doc, crypto.SHA256, trifirma.Params{"mode": "implicit", "SignatureId": "my-id"}))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := td.Signs[0].Get(trifirma.ParamNeedData); v != "true" || td.Signs[0].ID != "my-id" {
		t.Fatalf("session %s", td.Marshal())
	}
	// PRE is standard Base64 of a DER SET.
	v, _ := td.Signs[0].Get(trifirma.ParamPRE)
	pre, err := base64.StdEncoding.DecodeString(v)
	if err != nil || pre[0] != 0x31 {
		t.Fatalf("PRE %q", v)
	}
	// The session survives its XML form.
	if _, err := trifirma.ParseTriphaseData(td.Marshal()); err != nil {
		t.Fatal(err)
	}

	// cosign: NEED_DATA=true.
	sig := sign(t, pki.RSA2, trifirma.OpSign, doc, crypto.SHA256, nil)
	td, err = e.Presign(ctx, request(pki.RSA, trifirma.OpCoSign, sig, crypto.SHA256, nil))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := td.Signs[0].Get(trifirma.ParamNeedData); v != "true" || len(td.Signs) != 1 {
		t.Fatalf("cosign session %s", td.Marshal())
	}

	// countersign tree of a 2-signer signature: 2 firmas, Id = b64(sha256(signature)), signid.
	co := sign(t, pki.RSA, trifirma.OpCoSign, sig, crypto.SHA256, nil)
	td, err = e.Presign(ctx, request(pki.EC, trifirma.OpCounterSign, co, crypto.SHA256, trifirma.Params{"target": "TREE", "SignatureId": "cs-1"}))
	if err != nil {
		t.Fatal(err)
	}
	sd, _ := cms.ParseSignedData(co)
	if len(td.Signs) != 2 {
		t.Fatalf("countersign session %s", td.Marshal())
	}
	for _, s := range td.Signs {
		if s.SignID != "cs-1" {
			t.Fatalf("signid %q", s.SignID)
		}
		found := false
		for _, si := range sd.SignerInfos {
			found = found || s.ID == cades.TargetID(si.Signature)
		}
		if !found {
			t.Fatalf("firma Id %q matches no target", s.ID)
		}
	}
}

func TestDeterministicPresign(t *testing.T) {
	pki := testpki.Get(t)
	e := cades.New(cades.Config{})
	for _, op := range []trifirma.Operation{trifirma.OpSign, trifirma.OpCoSign, trifirma.OpCounterSign} {
		doc := []byte("same input")
		if op != trifirma.OpSign {
			doc = sign(t, pki.RSA2, trifirma.OpSign, doc, crypto.SHA256, nil)
		}
		p := trifirma.Params{"SignatureId": "fixed", "expPolicy": "FirmaAGE"}
		a, err := e.Presign(context.Background(), request(pki.RSA, op, doc, crypto.SHA256, p))
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.Presign(context.Background(), request(pki.RSA, op, doc, crypto.SHA256, p))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Marshal(), b.Marshal()) {
			t.Fatalf("%s: presign is not deterministic", op)
		}
	}
}

func TestGoldenSignedAttributes(t *testing.T) {
	der, err := os.ReadFile("testdata/golden-signer.der")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	md := func(h crypto.Hash) []byte { return bytes.Repeat([]byte{0xab}, h.Size()) }
	cases := map[string]func() (*cades.AttributeOptions, error){
		"cades-sha256": func() (*cades.AttributeOptions, error) {
			return cades.OptionsFromParams(trifirma.Params{}, cades.ProfileCAdES)
		},
		"cades-sha1-v1": func() (*cades.AttributeOptions, error) {
			return cades.OptionsFromParams(trifirma.Params{}, cades.ProfileCAdES)
		},
		"cades-epes-sha512": func() (*cades.AttributeOptions, error) {
			p := trifirma.Params{"policyIdentifier": "urn:oid:2.16.724.1.3.1.1.2.1.9", "policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0=",
				"policyIdentifierHashAlgorithm": "http://www.w3.org/2000/09/xmldsig#sha1", "policyQualifier": "https://sede.administracion.gob.es/politica_de_firma_anexo_1.pdf",
				"signerClaimedRoles": "Emisor", "signatureProductionCity": "Madrid", "commitmentTypeIndications": "1", "commitmentTypeIndication0Identifier": "5"}
			return cades.OptionsFromParams(p, cades.ProfileCAdES)
		},
		"countersignature-sha384": func() (*cades.AttributeOptions, error) {
			return cades.OptionsFromParams(trifirma.Params{}, cades.ProfileCounterSignature)
		},
		"pades-sha256": func() (*cades.AttributeOptions, error) {
			return cades.OptionsFromParams(trifirma.Params{"expPolicy": "ignored: not expanded here", "signatureProductionCity": "Madrid"}, cades.ProfilePAdES)
		},
	}
	hashOf := map[string]crypto.Hash{"cades-sha256": crypto.SHA256, "cades-sha1-v1": crypto.SHA1, "cades-epes-sha512": crypto.SHA512,
		"countersignature-sha384": crypto.SHA384, "pades-sha256": crypto.SHA256}
	for name, mk := range cases {
		o, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		h := hashOf[name]
		o.Hash, o.MessageDigest, o.Signer, o.SigningTime = h, md(h), cert, at
		got, err := cades.SignedAttributes(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cades.ParseSignedAttributes(got); err != nil {
			t.Fatalf("%s: our own output does not parse strictly: %v", name, err)
		}
		path := filepath.Join("testdata", "golden", name+".der")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: signed attributes differ from %s (inspect with openssl asn1parse -inform DER -in %s)", name, path, path)
		}
	}
}

func TestTimestampedSignature(t *testing.T) {
	pki := testpki.Get(t)
	key, chain := tsatest.Identity(t, pki.Root, pki.RootKey)
	srv := tsatest.New(t, key, chain)
	e := cades.New(cades.Config{TSA: cades.AllowTSA(nil, srv.URL)})
	doc := []byte("time-stamped document")
	run := func(id *testpki.Identity, op trifirma.Operation, in []byte, p trifirma.Params) []byte {
		out, err := trifirma.Sign(context.Background(), in, id.Key, id.Chain, trifirma.SignOptions{
			Engine: e, Operation: op, Hash: crypto.SHA256, Params: p, Time: signTime})
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		return out
	}
	p := trifirma.Params{"tsaURL": srv.URL, "tsaHashAlgorithm": "SHA-256", "mode": "implicit"}
	s1 := run(pki.RSA, trifirma.OpSign, doc, p)
	s2 := run(pki.EC, trifirma.OpCoSign, s1, p)
	s3 := run(pki.RSA2, trifirma.OpCounterSign, s2, p)
	for _, s := range [][]byte{s1, s2, s3} {
		validate.CAdES(t, s, validate.Options{Roots: []*x509.Certificate{pki.Root}})
	}
	sd, _ := cms.ParseSignedData(s3)
	n := 0
	_ = sd.Walk(func(si *cms.SignerInfo, _ int) error {
		if _, ok := si.Unsigned(cms.OIDAttrTimeStampToken); ok {
			n++
		}
		return nil
	})
	if n != 4 {
		t.Fatalf("%d signature time-stamps, want 4", n)
	}
	// A URL outside the allow-list is refused; a TSA failure fails the postsign.
	if _, err := trifirma.Sign(context.Background(), doc, pki.RSA.Key, pki.RSA.Chain, trifirma.SignOptions{
		Engine: e, Params: trifirma.Params{"tsaURL": "http://127.0.0.1:1/other"}}); !errors.Is(err, trifirma.ErrInvalidParams) {
		t.Fatalf("other TSA: %v", err)
	}
	srv.Fault.Store(int32(tsatest.WrongNonce))
	if _, err := trifirma.Sign(context.Background(), doc, pki.RSA.Key, pki.RSA.Chain, trifirma.SignOptions{Engine: e, Params: p}); err == nil {
		t.Fatal("a bad time-stamp response produced a signature")
	}
}

// TestPostsignRefusesInconsistentSessions: postsign never assembles a signature that does not
// match what was presigned.
func TestPostsignRefusesInconsistentSessions(t *testing.T) {
	pki := testpki.Get(t)
	e := cades.New(cades.Config{})
	ctx := context.Background()
	doc := []byte("original")
	alg := trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}
	presigned := func(op trifirma.Operation, in []byte, p trifirma.Params) (*trifirma.Request, *trifirma.TriphaseData) {
		req := request(pki.RSA, op, in, crypto.SHA256, p)
		td, err := e.Presign(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		device(t, pki.RSA, alg, td)
		return req, td
	}
	expect := func(name string, want error, req *trifirma.Request, td *trifirma.TriphaseData) {
		t.Helper()
		out, err := e.Postsign(ctx, req, td)
		if !errors.Is(err, want) || out != nil {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
	}

	// Implicit sign with another document.
	req, td := presigned(trifirma.OpSign, doc, trifirma.Params{"mode": "implicit"})
	req2 := *req
	req2.Document = []byte("tampered")
	expect("implicit other document", trifirma.ErrSessionTampered, &req2, td)
	// Mode switched between the phases.
	req3 := *req
	req3.Params = trifirma.Params{"mode": "explicit"}
	expect("mode switched", trifirma.ErrInvalidSession, &req3, td)

	// Explicit sign does not read the document at all.
	req, td = presigned(trifirma.OpSign, doc, nil)
	req4 := *req
	req4.Document = nil
	if out, err := e.Postsign(ctx, &req4, td); err != nil {
		t.Fatalf("explicit postsign without the document: %v", err)
	} else {
		validate.CAdES(t, out, validate.Options{Detached: doc, Roots: []*x509.Certificate{pki.Root}})
	}

	// A PK1 that does not verify.
	_, td = presigned(trifirma.OpSign, doc, nil)
	bad, _ := td.Signs[0].Bytes(trifirma.ParamPK1)
	bad[0] ^= 1
	td.Signs[0].Set(trifirma.ParamPK1, trifirma.EncodeStd(bad))
	expect("bad PK1", trifirma.ErrBadSignatureValue, req, td)

	// A PRE for another signer certificate.
	_, td = presigned(trifirma.OpSign, doc, nil)
	req5 := *req
	req5.Chain = pki.RSA2.Chain
	expect("other signer", trifirma.ErrInvalidSession, &req5, td)

	// PRE missing, not Base64, not a SET, unsorted.
	for name, pre := range map[string]string{"missing": "", "not base64": "***", "not a set": trifirma.EncodeStd([]byte{0x30, 0}),
		"truncated": trifirma.EncodeStd([]byte{0x31, 0x10, 0x30})} {
		_, td = presigned(trifirma.OpSign, doc, nil)
		td.Signs[0].Set(trifirma.ParamPRE, pre)
		expect("PRE "+name, trifirma.ErrInvalidSession, req, td)
	}
	expect("no firma", trifirma.ErrInvalidSession, req, &trifirma.TriphaseData{})

	// Co-signing a different signature than the presigned one.
	sigA := sign(t, pki.RSA2, trifirma.OpSign, doc, crypto.SHA256, trifirma.Params{"mode": "implicit"})
	sigB := sign(t, pki.RSA2, trifirma.OpSign, []byte("other"), crypto.SHA256, trifirma.Params{"mode": "implicit"})
	req, td = presigned(trifirma.OpCoSign, sigA, nil)
	req6 := *req
	req6.Document = sigB
	expect("cosign other signature", trifirma.ErrSessionTampered, &req6, td)

	// Countersigning a signature whose targets differ from the presigned ones.
	req, td = presigned(trifirma.OpCounterSign, sigA, nil)
	req7 := *req
	req7.Document = sigB
	expect("countersign other signature", trifirma.ErrInvalidSession, &req7, td)
}

func TestBadExistingSignatures(t *testing.T) {
	pki := testpki.Get(t)
	e := cades.New(cades.Config{})
	good := sign(t, pki.RSA2, trifirma.OpSign, []byte("x"), crypto.SHA256, trifirma.Params{"mode": "implicit"})
	inputs := map[string][]byte{
		"empty": nil, "text": []byte("hello world"), "truncated": good[:len(good)/2],
		"one byte short": good[:len(good)-1], "trailing": append(bytes.Clone(good), 0),
		"pdf": []byte("%PDF-1.7\n"), "indefinite garbage": {0x30, 0x80, 0x30, 0x80},
	}
	for name, in := range inputs {
		for _, op := range []trifirma.Operation{trifirma.OpCoSign, trifirma.OpCounterSign} {
			_, err := e.Presign(context.Background(), request(pki.RSA, op, in, crypto.SHA256, nil))
			if !errors.Is(err, trifirma.ErrInvalidDocument) {
				t.Errorf("%s %s: %v", op, name, err)
			}
		}
	}
	// A detached signature co-signed with a digest no signer used.
	det := sign(t, pki.RSA2, trifirma.OpSign, []byte("x"), crypto.SHA256, nil)
	if _, err := e.Presign(context.Background(), request(pki.RSA, trifirma.OpCoSign, det, crypto.SHA512, nil)); !errors.Is(err, trifirma.ErrInvalidDocument) {
		t.Errorf("detached, other digest: %v", err)
	}
	// checkSignatures=true refuses a signature whose content was altered.
	alt := bytes.Clone(good)
	i := bytes.Index(alt, []byte{0x04, 0x01, 'x'})
	alt[i+2] = 'y'
	if _, err := e.Presign(context.Background(), request(pki.RSA, trifirma.OpCoSign, alt, crypto.SHA256, trifirma.Params{"checkSignatures": "true"})); !errors.Is(err, trifirma.ErrInvalidDocument) {
		t.Errorf("checkSignatures: %v", err)
	}
	if _, err := e.Presign(context.Background(), request(pki.RSA, trifirma.OpCoSign, good, crypto.SHA256, trifirma.Params{"checkSignatures": "true"})); err != nil {
		t.Errorf("checkSignatures on a good signature: %v", err)
	}
}

func TestLTSNeedsConfirmation(t *testing.T) {
	pki := testpki.Get(t)
	e := cades.New(cades.Config{})
	// Add an archive-timestamp-v3 unsigned attribute (its value need not be a real token to
	// mark the signature as long-term).
	base := sign(t, pki.RSA2, trifirma.OpSign, []byte("lts"), crypto.SHA256, trifirma.Params{"mode": "implicit"})
	sd, _ := cms.ParseSignedData(base)
	si := sd.SignerInfos[0]
	ats := cms.Attribute{Type: cms.OIDAttrArchiveTimestampV3, Values: [][]byte{{0x05, 0x00}}}
	si.AddUnsignedAttribute(ats)
	siDER := si.Encode()
	lts := cms.NewSignedData(cms.OIDData, []byte("lts"), true)
	_ = lts.AddDigestAlgorithm(crypto.SHA256)
	lts.AddCertificates(pki.RSA2.Chain...)
	lts.AddSignerInfo(siDER)
	doc := lts.Encode()
	for _, op := range []trifirma.Operation{trifirma.OpCoSign, trifirma.OpCounterSign} {
		for v, denied := range map[string]bool{"": false, "false": true} {
			p := trifirma.Params{}
			if v != "" {
				p["allowSignLTSignature"] = v
			}
			_, err := e.Presign(context.Background(), request(pki.RSA, op, doc, crypto.SHA256, p))
			var cn *trifirma.ConfigNeededError
			if !errors.As(err, &cn) || cn.Code != trifirma.NeedSigningLTS || cn.Param != "allowSignLTSignature" || cn.Denied != denied {
				t.Fatalf("%s allow=%q: %v", op, v, err)
			}
		}
		if _, err := e.Presign(context.Background(), request(pki.RSA, op, doc, crypto.SHA256, trifirma.Params{"allowSignLTSignature": "true"})); err != nil {
			t.Fatalf("%s allowed: %v", op, err)
		}
	}
}

func TestExtraParams(t *testing.T) {
	pki := testpki.Get(t)
	doc := []byte("precalculated")
	d := crypto.SHA256.New()
	d.Write(doc)
	digest := d.Sum(nil)

	// precalculatedHashAlgorithm: the document is its digest; the result verifies against
	// the original data.
	s := sign(t, pki.RSA, trifirma.OpSign, digest, crypto.SHA256, trifirma.Params{"precalculatedHashAlgorithm": "SHA-256"})
	check(t, s, doc, 1)
	e := cades.New(cades.Config{})
	for name, p := range map[string]trifirma.Params{
		"other digest":  {"precalculatedHashAlgorithm": "SHA-512"},
		"implicit":      {"precalculatedHashAlgorithm": "SHA-256", "mode": "implicit"},
		"bad target":    {"target": "signers"},
		"commitment":    {"commitmentTypeIndications": "1", "commitmentTypeIndication0Identifier": "not-an-oid"},
		"qualifier":     {"commitmentTypeIndications": "1", "commitmentTypeIndication0Identifier": "1", "commitmentTypeIndication0CommitmentTypeQualifiers": "RAZON"},
		"too many":      {"commitmentTypeIndications": "1000"},
		"not a number":  {"commitmentTypeIndications": "two"},
		"content oid":   {"contentTypeOid": "x.y"},
		"ascii qualif.": {"policyIdentifier": "1.2.3", "policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0=", "policyIdentifierHashAlgorithm": "SHA1", "policyQualifier": "https://ex.org/política"},
	} {
		op := trifirma.OpSign
		in := digest
		if name == "bad target" {
			op, in = trifirma.OpCounterSign, s
		}
		if _, err := e.Presign(context.Background(), request(pki.RSA, op, in, crypto.SHA256, p)); !errors.Is(err, trifirma.ErrInvalidParams) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := e.Presign(context.Background(), request(pki.RSA, trifirma.OpSign, doc, crypto.SHA256, trifirma.Params{"precalculatedHashAlgorithm": "SHA-256"})); !errors.Is(err, trifirma.ErrInvalidDocument) {
		t.Errorf("precalculated of the wrong size: %v", err)
	}

	// includeOnlySignningCertificate, no signing time, no content hint, signing-certificate-v2
	// with SHA-1.
	s = sign(t, pki.RSA, trifirma.OpSign, doc, crypto.SHA1, trifirma.Params{"includeOnlySignningCertificate": "true",
		"includeSigningTimeAttribute": "false", "includeContentHintAttribute": "false", "signingCertificateV2": "true"})
	// Without signing-time the result is CMS+ESS, not CAdES-B-B, which the harness's baseline
	// rule rejects by design: openssl and pkijs judge the signature.
	validate.CAdES(t, s, validate.Options{Detached: doc, SkipHarness: true})
	sd, _ := cms.ParseSignedData(s)
	si := sd.SignerInfos[0]
	if len(sd.Certificates) != 1 {
		t.Errorf("%d certificates", len(sd.Certificates))
	}
	for oid, want := range map[string]bool{cms.OIDAttrSigningTime.String(): false, cms.OIDAttrContentHint.String(): false,
		cms.OIDAttrSigningCertificateV2.String(): true, cms.OIDAttrSigningCertificate.String(): false} {
		found := false
		for _, a := range si.SignedAttrs {
			found = found || a.Type.String() == oid
		}
		if found != want {
			t.Errorf("attribute %s present=%v", oid, found)
		}
	}

	// Unsupported algorithm, key type mismatch, format and operation.
	req := request(pki.RSA, trifirma.OpSign, doc, crypto.SHA256, nil)
	req.Algorithm.Hash = crypto.MD5
	if _, err := e.Presign(context.Background(), req); !errors.Is(err, trifirma.ErrUnsupportedAlgorithm) {
		t.Errorf("MD5: %v", err)
	}
	req = request(pki.RSA, trifirma.OpSign, doc, crypto.SHA256, nil)
	req.Algorithm.Key = trifirma.KeyECDSA
	if _, err := e.Presign(context.Background(), req); !errors.Is(err, trifirma.ErrUnsupportedAlgorithm) {
		t.Errorf("key mismatch: %v", err)
	}
	req = request(pki.RSA, trifirma.OpSign, doc, crypto.SHA256, nil)
	req.Format = trifirma.FormatXAdES
	if _, err := e.Presign(context.Background(), req); !errors.Is(err, trifirma.ErrUnsupportedFormat) {
		t.Errorf("format: %v", err)
	}
	req = request(pki.RSA, "verify", doc, crypto.SHA256, nil)
	if _, err := e.Presign(context.Background(), req); !errors.Is(err, trifirma.ErrUnsupportedOperation) {
		t.Errorf("operation: %v", err)
	}
	req = request(pki.RSA, trifirma.OpSign, doc, crypto.SHA256, nil)
	req.Chain = nil
	if _, err := e.Presign(context.Background(), req); !errors.Is(err, trifirma.ErrInvalidCertificate) {
		t.Errorf("no chain: %v", err)
	}
}

// TestConcurrentUse runs the three phases of many signatures at once on one engine.
func TestConcurrentUse(t *testing.T) {
	pki := testpki.Get(t)
	e := cades.New(cades.Config{})
	base := sign(t, pki.RSA2, trifirma.OpSign, []byte("shared"), crypto.SHA256, trifirma.Params{"mode": "implicit"})
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			op := []trifirma.Operation{trifirma.OpSign, trifirma.OpCoSign, trifirma.OpCounterSign}[i%3]
			doc := base
			if op == trifirma.OpSign {
				doc = []byte{byte(i)}
			}
			_, err := trifirma.Sign(context.Background(), doc, pki.EC.Key, pki.EC.Chain, trifirma.SignOptions{Engine: e, Operation: op, Hash: crypto.SHA384})
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
