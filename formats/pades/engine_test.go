package pades_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/formats/pades"
	"github.com/trifirma/trifirma/internal/pdf"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testenv"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
)

func TestSignAndCosign(t *testing.T) {
	pki := testpki.Get(t)
	docs := map[string]pdftest.Options{
		"table":           {Pages: 2},
		"xrefstream":      {XRef: pdftest.Stream},
		"objstm":          {XRef: pdftest.Stream, ObjStm: true, Pages: 3},
		"hybrid":          {XRef: pdftest.Hybrid, ObjStm: true},
		"cr":              {EOL: "\r"},
		"crlf-noeol":      {EOL: "\r\n", NoFinalEOL: true},
		"form":            {Form: true},
		"rotated":         {Rotate: 90},
		"pdf14":           {Version: "1.4"},
		"objstm-crlf":     {XRef: pdftest.Stream, ObjStm: true, EOL: "\r\n", Form: true},
		"hybrid-crlf-rot": {XRef: pdftest.Hybrid, ObjStm: true, EOL: "\r\n", Rotate: 270},
	}
	for name, o := range docs {
		t.Run(name, func(t *testing.T) {
			doc := pdftest.Build(o)
			first := mustSign(t, doc, pki.RSA, crypto.SHA256, trifirma.Params{"signReason": "Conforme", "signatureProductionCity": "Sevilla"})
			check(t, first, 1, validate.Options{})
			second := mustSign(t, first, pki.EC, crypto.SHA384, trifirma.Params{"signatureSubFilter": "adbe.pkcs7.detached"})
			third := mustSign(t, second, pki.RSA2, crypto.SHA512, trifirma.Params{
				"signaturePositionOnPageLowerLeftX": "50", "signaturePositionOnPageLowerLeftY": "50",
				"signaturePositionOnPageUpperRightX": "250", "signaturePositionOnPageUpperRightY": "120"})
			check(t, third, 3, validate.Options{})
			r, err := pdf.OpenBytes(ctx, third, nil)
			if err != nil {
				t.Fatal(err)
			}
			orig, _ := pdf.OpenBytes(ctx, doc, nil)
			if r.XRefForm() != orig.XRefForm() {
				t.Fatalf("update written as %v in a %v file", r.XRefForm(), orig.XRefForm())
			}
		})
	}
}

func TestSignatureDictionaryAndAttributes(t *testing.T) {
	pki := testpki.Get(t)
	doc := pdftest.Build(pdftest.Options{})
	for _, sf := range []string{"", pades.SubFilterETSI, pades.SubFilterPKCS7} {
		t.Run("subfilter="+sf, func(t *testing.T) {
			p := trifirma.Params{"signReason": "Aprobación", "signatureProductionCity": "Madrid", "signerContact": "a@b.es"}
			if sf != "" {
				p["signatureSubFilter"] = sf
			}
			eng := pades.New(pades.Config{})
			req := &trifirma.Request{Operation: trifirma.OpSign, Format: trifirma.FormatPAdES, Document: doc, Chain: pki.RSA.Chain,
				Algorithm: trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}, Params: p, Time: fixedTime}
			td, err := eng.Presign(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			sd := td.Signs[0]
			for _, k := range []string{"PRE", "NEED_PRE", "TIME", "PID"} {
				if _, ok := sd.Get(k); !ok {
					t.Fatalf("session lacks %s", k)
				}
			}
			if v, _ := sd.Get("TIME"); v != strconv.FormatInt(fixedTime.UnixMilli(), 10) {
				t.Fatalf("TIME = %s", v)
			}
			pre, _ := sd.Bytes("PRE")
			attrs, err := cades.ParseSignedAttributes(pre)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, a := range attrs {
				types = append(types, a.Type.String())
			}
			joined := strings.Join(types, ",")
			if strings.Contains(joined, "1.2.840.113549.1.9.5") {
				t.Fatalf("signing-time present in a PAdES CMS: %s", joined)
			}
			for _, want := range []string{"1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.16.2.47"} {
				if !strings.Contains(joined, want) {
					t.Fatalf("attribute %s missing: %s", want, joined)
				}
			}
			out := mustSign(t, doc, pki.RSA, crypto.SHA256, p)
			check(t, out, 1, validate.Options{})
			upd := string(out[len(doc):])
			wantSF := sf
			if wantSF == "" {
				wantSF = pades.SubFilterETSI
			}
			for _, want := range []string{"/SubFilter/" + wantSF, "/Filter/Adobe.PPKLite", "/M(D:20250314102653+01'00')",
				"/Name(Trifirma Test Signer)", "/Location(Madrid)", "/ContactInfo(a@b.es)", "/SigFlags 3", "/FT/Sig"} {
				if !strings.Contains(upd, want) {
					t.Errorf("update lacks %s", want)
				}
			}
			if !strings.Contains(upd, "/Reason<FEFF") {
				t.Error("non-ASCII /Reason is not UTF-16")
			}
		})
	}
}

func TestDeterminism(t *testing.T) {
	pki := testpki.Get(t)
	doc := pdftest.Build(pdftest.Options{XRef: pdftest.Stream, ObjStm: true, Form: true})
	p := trifirma.Params{"signaturePositionOnPageLowerLeftX": "100", "signaturePositionOnPageLowerLeftY": "100",
		"signaturePositionOnPageUpperRightX": "300", "signaturePositionOnPageUpperRightY": "160", "layer2Text": "$$SUBJECTCN$$ $$SIGNDATE=yyyy-MM-dd HH:mm$$"}
	eng := pades.New(pades.Config{})
	alg := trifirma.SignatureAlgorithm{Hash: crypto.SHA512, Key: trifirma.KeyRSA}
	req := func(params trifirma.Params) *trifirma.Request {
		return &trifirma.Request{Operation: trifirma.OpSign, Document: doc, Chain: pki.RSA.Chain, Algorithm: alg, Params: params, Time: fixedTime}
	}
	a, err := eng.Presign(ctx, req(p))
	if err != nil {
		t.Fatal(err)
	}
	b, err := eng.Presign(ctx, req(p))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"PRE", "TIME", "PID"} {
		va, _ := a.Signs[0].Get(k)
		vb, _ := b.Signs[0].Get(k)
		if va != vb {
			t.Fatalf("%s differs between two presigns: %s / %s", k, va, vb)
		}
	}
	pre, _ := a.Signs[0].Bytes("PRE")
	sig, err := pki.RSA.Key.Sign(nil, alg.Digest(pre), alg.SignerOpts())
	if err != nil {
		t.Fatal(err)
	}
	a.Signs[0].Set("PK1", trifirma.EncodeStd(sig))
	out1, err := eng.Postsign(ctx, req(p), a)
	if err != nil {
		t.Fatal(err)
	}
	out2, err := eng.Postsign(ctx, req(p), a)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out1, out2) {
		t.Fatal("two postsigns of one session differ")
	}
	check(t, out1, 1, validate.Options{})

	// Anything that changes the revision must be refused, never produce a wrong signature.
	tamper := map[string]func(td *trifirma.TriphaseData) *trifirma.Request{
		"TIME": func(td *trifirma.TriphaseData) *trifirma.Request {
			td.Signs[0].Set("TIME", strconv.FormatInt(fixedTime.UnixMilli()+1000, 10))
			return req(p)
		},
		"PID": func(td *trifirma.TriphaseData) *trifirma.Request {
			td.Signs[0].Set("PID", trifirma.EncodeStd([]byte("[<0123456789ABCDEF0123456789ABCDEF><00>]")))
			return req(p)
		},
		"params": func(td *trifirma.TriphaseData) *trifirma.Request {
			q := p.Clone()
			q["signReason"] = "other"
			return req(q)
		},
		"document": func(td *trifirma.TriphaseData) *trifirma.Request {
			r := req(p)
			r.Document = pdftest.Build(pdftest.Options{XRef: pdftest.Stream, ObjStm: true, Form: true, Pages: 2})
			return r
		},
	}
	for name, f := range tamper {
		t.Run("tampered-"+name, func(t *testing.T) {
			td, _ := trifirma.ParseTriphaseData(a.Marshal())
			r := f(td)
			out, err := eng.Postsign(ctx, r, td)
			if err == nil || out != nil {
				t.Fatal("postsign accepted a changed revision")
			}
			if !errors.Is(err, trifirma.ErrInvalidSession) {
				t.Fatalf("error %v does not wrap ErrInvalidSession", err)
			}
		})
	}
	t.Run("missing-PID", func(t *testing.T) {
		td, _ := trifirma.ParseTriphaseData(a.Marshal())
		td.Signs[0].Delete("PID")
		if _, err := eng.Postsign(ctx, req(p), td); !errors.Is(err, trifirma.ErrInvalidSession) || !strings.Contains(err.Error(), "PID") {
			t.Fatalf("error %v", err)
		}
	})
}

func TestCountersignUnsupported(t *testing.T) {
	pki := testpki.Get(t)
	_, err := trifirma.Sign(ctx, pdftest.Build(pdftest.Options{}), pki.RSA.Key, pki.RSA.Chain, trifirma.SignOptions{
		Engine: pades.New(pades.Config{}), Operation: trifirma.OpCounterSign})
	if !errors.Is(err, trifirma.ErrUnsupportedOperation) {
		t.Fatalf("error %v", err)
	}
	// cosign is signing again.
	out, err := trifirma.Sign(ctx, pdftest.Build(pdftest.Options{}), pki.RSA.Key, pki.RSA.Chain, trifirma.SignOptions{
		Engine: pades.New(pades.Config{}), Operation: trifirma.OpCoSign, Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	check(t, out, 1, validate.Options{})
}

func TestExistingSignatureField(t *testing.T) {
	pki := testpki.Get(t)
	doc := pdftest.Build(pdftest.Options{EmptySigField: true, Form: true})
	out := mustSign(t, doc, pki.RSA, crypto.SHA256, trifirma.Params{"signatureField": "Firma1", "layer2Text": "Firmado por $$SUBJECTCN$$"})
	check(t, out, 1, validate.Options{})
	if c := strings.Count(string(out[len(doc):]), "/FT/Sig"); c != 1 {
		t.Fatalf("expected the existing field to be updated, found %d /FT/Sig in the update", c)
	}
	assertInk(t, out, 1, pdf.Rect{300, 100, 500, 160})
	for _, c := range []struct {
		name string
		p    trifirma.Params
		doc  []byte
	}{
		{"unknown field", trifirma.Params{"signatureField": "Nope"}, doc},
		{"text field", trifirma.Params{"signatureField": "name"}, doc},
		{"already signed", trifirma.Params{"signatureField": "Firma1"}, out},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := sign(t, c.doc, pki.RSA, crypto.SHA256, c.p)
			if !errors.Is(err, trifirma.ErrInvalidParams) {
				t.Fatalf("error %v", err)
			}
		})
	}
	// The reference PDF with an empty field.
	ref := refdata(t, "pdf", "empty_signature_field.pdf")
	out = mustSign(t, ref, pki.RSA, crypto.SHA256, trifirma.Params{"signatureField": "EmptySignatureField"})
	check(t, out, 1, validate.Options{})
}

func TestCertification(t *testing.T) {
	pki := testpki.Get(t)
	doc := pdftest.Build(pdftest.Options{Form: true})
	for level := 1; level <= 3; level++ {
		t.Run(fmt.Sprint("level", level), func(t *testing.T) {
			cert := mustSign(t, doc, pki.RSA, crypto.SHA256, trifirma.Params{"certificationLevel": strconv.Itoa(level)})
			certified(t, doc, cert, 1, level)
			if !bytes.Contains(cert[len(doc):], []byte("/TransformMethod/DocMDP")) || !bytes.Contains(cert[len(doc):], []byte("/Perms<</DocMDP")) {
				t.Fatal("no DocMDP certification in the update")
			}
			_, err := sign(t, cert, pki.RSA2, crypto.SHA256, nil)
			if level == 1 {
				needConfig(t, err, trifirma.NeedSigningCertifiedPDF, false)
				_, err = sign(t, cert, pki.RSA2, crypto.SHA256, trifirma.Params{"allowSigningCertifiedPdfs": "false"})
				needConfig(t, err, trifirma.NeedSigningCertifiedPDF, true)
				out := mustSign(t, cert, pki.RSA2, crypto.SHA256, trifirma.Params{"allowSigningCertifiedPdfs": "true"})
				// The second signature violates P=1 by construction (the user confirmed it);
				// both signatures must still verify.
				certified(t, cert, out, 2, level)
			} else if err != nil {
				t.Fatalf("co-signing a P=%d certified PDF: %v", level, err)
			} else {
				out := mustSign(t, cert, pki.RSA2, crypto.SHA256, nil)
				certified(t, cert, out, 2, level)
			}
			// A certification must be the first signature.
			_, err = sign(t, cert, pki.RSA2, crypto.SHA256, trifirma.Params{"certificationLevel": "2", "allowSigningCertifiedPdfs": "true"})
			if !errors.Is(err, trifirma.ErrInvalidParams) {
				t.Fatalf("second certification: %v", err)
			}
		})
	}
	// The reference's certified PDF asks for confirmation.
	_, err := sign(t, refdata(t, "pdf", "TEST_PDF_Certified.pdf"), pki.RSA, crypto.SHA256, nil)
	needConfig(t, err, trifirma.NeedSigningCertifiedPDF, false)
}

func TestUnregisteredSignature(t *testing.T) {
	pki := testpki.Get(t)
	doc := pdftest.Build(pdftest.Options{})
	r, err := pdf.OpenBytes(ctx, doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat, catRef, _ := r.Catalog()
	u := r.NewUpdate()
	sig := u.Add(pdf.NewDict("Type", pdf.Name("Sig"), "Filter", pdf.Name("Adobe.PPKLite"), "SubFilter", pdf.Name("adbe.x509.rsa_sha1"),
		"ByteRange", pdf.Array{int64(0), int64(1), int64(2), int64(3)}, "Contents", pdf.HexString{0}))
	f := u.Add(pdf.NewDict("FT", pdf.Name("Sig"), "T", pdf.String("Old"), "V", sig, "Rect", pdf.Array{int64(0), int64(0), int64(0), int64(0)}))
	nc := cat.Clone()
	nc.Set("AcroForm", pdf.NewDict("Fields", pdf.Array{f}, "SigFlags", int64(3)))
	u.Set(catRef, nc)
	upd, _, err := u.Bytes(pdf.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	withOld := append(append([]byte{}, doc...), upd...)
	_, err = sign(t, withOld, pki.RSA, crypto.SHA256, nil)
	needConfig(t, err, trifirma.NeedUnregisteredSignatures, false)
	_, err = sign(t, withOld, pki.RSA, crypto.SHA256, trifirma.Params{"allowCosigningUnregisteredSignatures": "false"})
	needConfig(t, err, trifirma.NeedUnregisteredSignatures, true)
	if _, err := sign(t, withOld, pki.RSA, crypto.SHA256, trifirma.Params{"allowCosigningUnregisteredSignatures": "true"}); err != nil {
		t.Fatal(err)
	}
}

func TestModifiedForm(t *testing.T) {
	pki := testpki.Get(t)
	signed := mustSign(t, pdftest.Build(pdftest.Options{Form: true}), pki.RSA, crypto.SHA256, nil)
	// Change the text field after the signature.
	r, err := pdf.OpenBytes(ctx, signed, nil)
	if err != nil {
		t.Fatal(err)
	}
	cat, _, _ := r.Catalog()
	fref := r.GetArray(r.GetDict(cat.Get("AcroForm")).Get("Fields"))[0].(pdf.Ref)
	fd := r.GetDict(fref).Clone()
	fd.Set("V", pdf.String("Otro nombre"))
	u := r.NewUpdate()
	u.Set(fref, fd)
	upd, _, err := u.Bytes(pdf.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	changed := append(append([]byte{}, signed...), upd...)
	_, err = sign(t, changed, pki.RSA2, crypto.SHA256, trifirma.Params{"checkSignatures": "true"})
	needConfig(t, err, trifirma.NeedSigningModifiedForm, false)
	if _, err := sign(t, changed, pki.RSA2, crypto.SHA256, trifirma.Params{"checkSignatures": "true", "allowModifiedForm": "true"}); err != nil {
		t.Fatal(err)
	}
	// Unchanged forms pass the check.
	if _, err := sign(t, signed, pki.RSA2, crypto.SHA256, trifirma.Params{"checkSignatures": "true"}); err != nil {
		t.Fatal(err)
	}
}

func TestEncrypted(t *testing.T) {
	if _, err := exec.LookPath("qpdf"); err != nil {
		testenv.Missing(t, "qpdf is not installed")
		return
	}
	pki := testpki.Get(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.pdf")
	if err := os.WriteFile(plain, pdftest.Build(pdftest.Options{Form: true, Pages: 2}), 0o644); err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{}
	for name, args := range map[string][]string{
		"rc4-128": {"--allow-weak-crypto", "--encrypt", "usr", "own", "128", "--use-aes=n", "--"},
		"aes-128": {"--encrypt", "usr", "own", "128", "--use-aes=y", "--", "--object-streams=generate"},
		"aes-256": {"--encrypt", "usr", "own", "256", "--"},
	} {
		out := filepath.Join(dir, name+".pdf")
		if res, err := exec.Command("qpdf", append(args, plain, out)...).CombinedOutput(); err != nil {
			t.Fatalf("qpdf: %v\n%s", err, res)
		}
		docs[name], _ = os.ReadFile(out)
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			_, err := sign(t, doc, pki.RSA, crypto.SHA256, nil)
			needConfig(t, err, trifirma.NeedPDFPasswordProtected, false)
			_, err = sign(t, doc, pki.RSA, crypto.SHA256, trifirma.Params{"ownerPassword": "wrong"})
			needConfig(t, err, trifirma.NeedPDFBadPassword, false)
			for _, p := range []trifirma.Params{{"ownerPassword": "own"}, {"userPassword": "usr"}} {
				out := mustSign(t, doc, pki.RSA, crypto.SHA256, p.Clone())
				checkEncrypted(t, out, "own", 1)
				p2 := p.Clone()
				p2["signaturePositionOnPageLowerLeftX"] = "100"
				p2["signaturePositionOnPageLowerLeftY"] = "100"
				p2["signaturePositionOnPageUpperRightX"] = "300"
				p2["signaturePositionOnPageUpperRightY"] = "200"
				p2["signReason"] = "Cifrado ñ"
				out2 := mustSign(t, out, pki.EC, crypto.SHA256, p2)
				checkEncrypted(t, out2, "own", 2)
			}
		})
	}
	for _, c := range []struct{ file, pw string }{
		{"TEST_PDF_Password__pwd_password.pdf", "password"},
		{"PDF_de_prueba_AES256_LECTURA_123456.pdf", "123456"},
	} {
		t.Run(c.file, func(t *testing.T) {
			doc := refdata(t, "pdf", c.file)
			_, err := sign(t, doc, pki.RSA, crypto.SHA256, nil)
			needConfig(t, err, trifirma.NeedPDFPasswordProtected, false)
			out := mustSign(t, doc, pki.RSA, crypto.SHA256, trifirma.Params{"ownerPassword": c.pw})
			checkEncrypted(t, out, c.pw, 1)
		})
	}
}

func TestBadInput(t *testing.T) {
	pki := testpki.Get(t)
	good := pdftest.Build(pdftest.Options{Pages: 2})
	vis := func(llx, lly, urx, ury string) trifirma.Params {
		return trifirma.Params{"signaturePositionOnPageLowerLeftX": llx, "signaturePositionOnPageLowerLeftY": lly,
			"signaturePositionOnPageUpperRightX": urx, "signaturePositionOnPageUpperRightY": ury}
	}
	withPage := func(p trifirma.Params, page string) trifirma.Params { p["signaturePage"] = page; return p }
	cases := []struct {
		name string
		doc  []byte
		p    trifirma.Params
		want error
		text string
	}{
		{"zero bytes", nil, nil, trifirma.ErrInvalidDocument, "empty"},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"), nil, trifirma.ErrInvalidDocument, "not a PDF"},
		{"truncated", good[:len(good)*2/3], nil, trifirma.ErrInvalidDocument, "%%EOF"},
		{"garbage after EOF", append(append([]byte{}, good...), "trailing junk"...), nil, trifirma.ErrInvalidDocument, "follow the last %%EOF"},
		{"no EOF", bytes.TrimSuffix(bytes.TrimSpace(good), []byte("%%EOF")), nil, trifirma.ErrInvalidDocument, "%%EOF"},
		{"unrepairable xref", []byte("%PDF-1.7\n1 0 obj\n<</Type/Pages>>\nendobj\nxref\n0 1\nnonsense\ntrailer\n<<>>\nstartxref\n9\n%%EOF\n"), nil, trifirma.ErrInvalidDocument, "catalog"},
		{"page out of range", good, withPage(vis("10", "10", "100", "60"), "3"), trifirma.ErrInvalidParams, "out of range"},
		{"page zero", good, withPage(vis("10", "10", "100", "60"), "0"), trifirma.ErrInvalidParams, "out of range"},
		{"negative page out of range", good, withPage(vis("10", "10", "100", "60"), "-3"), trifirma.ErrInvalidParams, "out of range"},
		{"rectangle outside", good, vis("700", "900", "800", "950"), trifirma.ErrInvalidParams, "outside page"},
		{"three coordinates", good, trifirma.Params{"signaturePositionOnPageLowerLeftX": "1", "signaturePositionOnPageLowerLeftY": "1", "signaturePositionOnPageUpperRightX": "2"}, trifirma.ErrInvalidParams, "all four"},
		{"reserved size too small", good, trifirma.Params{"signReservedSize": "1500"}, trifirma.ErrInvalidParams, "too small"},
		{"reserved size absurd", good, trifirma.Params{"signReservedSize": "999999999"}, trifirma.ErrInvalidParams, "outside"},
		{"bad subfilter", good, trifirma.Params{"signatureSubFilter": "adbe.x509.rsa_sha1"}, trifirma.ErrInvalidParams, "signatureSubFilter"},
		{"bad certification level", good, trifirma.Params{"certificationLevel": "7"}, trifirma.ErrInvalidParams, "certificationLevel"},
		{"bad rotation", good, trifirma.Params{"signatureRotation": "45"}, trifirma.ErrInvalidParams, "90"},
		{"bad rubric", good, func() trifirma.Params {
			p := vis("10", "10", "100", "60")
			p["signatureRubricImage"] = "AAAA"
			return p
		}(), trifirma.ErrInvalidParams, "JPEG"},
		{"tsa without config", good, trifirma.Params{"tsaURL": "http://127.0.0.1:1/tsa"}, trifirma.ErrInvalidParams, "time-stamping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := sign(t, c.doc, pki.RSA, crypto.SHA256, c.p)
			if err == nil || out != nil {
				t.Fatal("signed bad input")
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v does not wrap %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Fatalf("error %q does not mention %q", err, c.text)
			}
		})
	}
}

// TestRefdataCosign signs every reference input and co-signs every reference PAdES file:
// every earlier signature must still verify.
func TestRefdataCosign(t *testing.T) {
	pki := testpki.Get(t)
	dir := testenv.Refdata(t, "pades")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	pdfDir := testenv.Refdata(t, "pdf")
	more, _ := filepath.Glob(filepath.Join(pdfDir, "*.pdf"))
	files = append(files, more...)
	for _, f := range files {
		base := filepath.Base(f)
		t.Run(base, func(t *testing.T) {
			doc, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p := trifirma.Params{"signaturePositionOnPageLowerLeftX": "40", "signaturePositionOnPageLowerLeftY": "40",
				"signaturePositionOnPageUpperRightX": "240", "signaturePositionOnPageUpperRightY": "100"}
			o := validate.Options{AllowSHA1: true, AllowExpired: true, SkipHarness: true, Roots: []*x509.Certificate{}}
			switch base {
			case "TEST_PDF_Password__pwd_password.pdf", "PDF_de_prueba_AES256_LECTURA_123456.pdf":
				t.Skip("encrypted: covered by TestEncrypted")
			case "TEST_PDF_Certified.pdf":
				p["allowSigningCertifiedPdfs"] = "true"
			case "Formulario_prueba_PDF.pdf":
				p = trifirma.Params{"signatureField": "Signature10"}
			case "empty_signature_field.pdf":
				p = trifirma.Params{"signatureField": "EmptySignatureField"}
			case "RFE023_shadow_form.pdf":
				// The reference's shadow-attack case: a text field added to page 1 after the
				// signature. Refused until the user allows it.
				_, err := sign(t, doc, pki.RSA, crypto.SHA256, p.Clone())
				needConfig(t, err, trifirma.NeedShadowAttack, false)
				p["allowShadowAttack"] = "true"
			}
			before := countSignatures(t, doc)
			out := mustSign(t, doc, pki.RSA, crypto.SHA256, p)
			refCheck(t, doc, out, before+1, o)
			out2 := mustSign(t, out, pki.EC, crypto.SHA512, trifirma.Params{"allowSigningCertifiedPdfs": "true"})
			refCheck(t, doc, out2, before+2, o)
		})
	}
}

// certified validates an output holding a certification signature: pdfcpu v0.15 reports the
// permissions of P=2/3 certifications as unsupported, so validate.PAdES (which runs it) is used
// only for P=1 and the other validators check the rest.
func certified(t *testing.T, in, out []byte, signers, level int) {
	t.Helper()
	if level == 1 && signers == 1 {
		check(t, out, signers, validate.Options{})
		return
	}
	checkTools(t, out, "", signers)
	harnessDiff(t, in, out, func(name, detail string) bool {
		return strings.HasPrefix(name, "pdfcpu.sig") && strings.Contains(detail, "Certified signature detected")
	})
}

var byteRangeRe = regexp.MustCompile(`/ByteRange\s*\[`)

func countSignatures(t testing.TB, doc []byte) int {
	return len(byteRangeRe.FindAllIndex(doc, -1))
}

// refCheck validates a signed reference file: the in-process validators without trust
// anchors (the legacy certificates have expired), and the shared harness against the input's
// own verdicts. A certified input makes pdfcpu report "permissions unsupported" (see certified).
func refCheck(t *testing.T, in, out []byte, signers int, o validate.Options) {
	t.Helper()
	certifiedInput := bytes.Contains(in, []byte("/DocMDP"))
	if certifiedInput {
		checkTools(t, out, "", signers)
	} else {
		check(t, out, signers, o)
	}
	if os.Getenv("TRIFIRMA_SHARED") != "" {
		harnessDiff(t, in, out, func(name, detail string) bool {
			return certifiedInput && strings.HasPrefix(name, "pdfcpu.sig") && strings.Contains(detail, "Certified signature detected")
		})
	}
}
