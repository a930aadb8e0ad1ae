package xades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/xades"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
	"github.com/trifirma/trifirma/internal/xmldom"
)

// signTime is inside the validity of the test PKI.
var signTime = time.Now().Add(-time.Hour).UTC().Truncate(time.Second)

const sampleXML = `<?xml version="1.0" encoding="UTF-8"?>
<doc xmlns="urn:example:doc" xmlns:x="urn:example:x" xml:lang="es">
  <item Id="i1" note="tab	and
newline">Uno &amp; dos &#xD;</item>
  <x:item>tres<!-- comment --><![CDATA[<cdata>]]></x:item>
</doc>
`

var binaryData = append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 1, 2, 0xFF, '\r', '\n'}, 500)...)

func engine() *xades.Engine { return xades.New(xades.Config{}) }

func sign(t testing.TB, id *testpki.Identity, op trifirma.Operation, doc []byte, h crypto.Hash, params trifirma.Params) []byte {
	t.Helper()
	out, err := trifirma.Sign(context.Background(), doc, id.Key, id.Chain, trifirma.SignOptions{
		Engine: engine(), Format: trifirma.FormatXAdES, Operation: op, Hash: h, Params: params, Time: signTime,
	})
	if err != nil {
		t.Fatalf("%s %v: %v", op, params, err)
	}
	return out
}

func rootsOf(t testing.TB) []*x509.Certificate { return []*x509.Certificate{testpki.Get(t).Root} }

func check(t testing.TB, sig, detached []byte, signers int) {
	t.Helper()
	validate.XAdES(t, sig, validate.Options{Detached: detached, Roots: rootsOf(t), Signers: signers})
}

func countSignatures(t testing.TB, doc []byte) int {
	t.Helper()
	d, err := xmldom.Parse(doc, xmldom.Limits{})
	if err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	n := 0
	var walk func(*xmldom.Node)
	walk = func(x *xmldom.Node) {
		if x.Is(xades.NSDS, "Signature") {
			n++
		}
		for c := x.FirstChild; c != nil; c = c.Next {
			walk(c)
		}
	}
	walk(&d.Node)
	return n
}

var variants = []string{xades.VariantEnveloping, xades.VariantEnveloped, xades.VariantDetached, xades.VariantExternal}

func variantParams(v string) (trifirma.Params, []byte) {
	p := trifirma.Params{"format": v}
	if v == xades.VariantExternal {
		p["uri"] = "https://example.invalid/doc"
	}
	return p, nil
}

// TestMatrix signs every variant with RSA, P-256 and P-384 keys, XML and binary data, then
// co-signs and counter-signs (leafs and tree) the result, validating every output with
// xmlsec1 and xadesjs (and the shared harness when TRIFIRMA_SHARED is set).
func TestMatrix(t *testing.T) {
	pki := testpki.Get(t)
	ids := []struct {
		name string
		id   *testpki.Identity
		h    crypto.Hash
	}{{"RSA", pki.RSA, crypto.SHA256}, {"P256", pki.EC, crypto.SHA256}, {"P384", pki.EC384, crypto.SHA384}}
	for _, v := range variants {
		for _, data := range []struct {
			name string
			b    []byte
		}{{"xml", []byte(sampleXML)}, {"binary", binaryData}} {
			if v == xades.VariantEnveloped && data.name == "binary" {
				continue
			}
			for _, id := range ids {
				t.Run(fmt.Sprintf("%s/%s/%s", v, data.name, id.name), func(t *testing.T) {
					p, _ := variantParams(v)
					var det []byte
					if v == xades.VariantExternal {
						det = data.b
					}
					s1 := sign(t, id.id, trifirma.OpSign, data.b, id.h, p)
					check(t, s1, det, 1)
					if id.name == "P384" {
						return
					}
					other := pki.EC
					if id.name == "P256" {
						other = pki.RSA2
					}
					s2 := sign(t, other, trifirma.OpCoSign, s1, crypto.SHA512, p)
					check(t, s2, det, 2)
					s3 := sign(t, pki.RSA, trifirma.OpCounterSign, s2, crypto.SHA256, trifirma.Params{"target": "leafs"})
					check(t, s3, det, 4)
					s4 := sign(t, pki.EC, trifirma.OpCounterSign, s3, crypto.SHA256, trifirma.Params{"target": "tree"})
					check(t, s4, det, 8)
				})
			}
		}
	}
}

// TestProperties covers the signed properties: explicit and preset policies (EPES), roles,
// production place, commitments, data object format, SigningCertificate v1/v2.
func TestProperties(t *testing.T) {
	pki := testpki.Get(t)
	cases := []struct {
		name   string
		h      crypto.Hash
		params trifirma.Params
		want   []string
	}{
		{"age-preset", crypto.SHA256, trifirma.Params{"expPolicy": "FirmaAGE", "format": xades.VariantEnveloped},
			[]string{"urn:oid:2.16.724.1.3.1.1.2.1.9", "G7roucf600+f03r/o0bAOQ6WAs0=", "SPURI", "SigningCertificateV2"}},
		{"explicit-policy", crypto.SHA512, trifirma.Params{
			"policyIdentifier": "urn:oid:1.3.6.1.4.1.99999.7", "policyIdentifierHash": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
			"policyIdentifierHashAlgorithm": "SHA-256", "policyQualifier": "https://example.invalid/policy.pdf", "policyDescription": "Política de prueba"},
			[]string{"urn:oid:1.3.6.1.4.1.99999.7", "Política de prueba"}},
		{"places-roles-commitments", crypto.SHA256, trifirma.Params{
			"signerClaimedRoles": "emisor|Director <general> & co", "signatureProductionCity": "Alcalá de Henares",
			"signatureProductionStreetAddress": "Calle Mayor 1", "signatureProductionProvince": "Madrid", "signatureProductionPostalCode": "28801",
			"signatureProductionCountry": "ES", "commitmentTypeIndications": "2", "commitmentTypeIndication0Identifier": "1",
			"commitmentTypeIndication0Description": "origen", "commitmentTypeIndication0DocumentationReferences": "https://example.invalid/a|https://example.invalid/b",
			"commitmentTypeIndication1Identifier": "1.2.3.4.5", "commitmentTypeIndication1CommitmentTypeQualifiers": "1.2.3|1.2.4",
			"mimeType": "application/xml", "encoding": "UTF-8", "contentDescription": "Factura 2024/001", "format": xades.VariantDetached},
			[]string{"SignerRoleV2", "SignatureProductionPlaceV2", "CommitmentTypeIndication", "urn:oid:1.2.840.113549.1.9.16.6.1", "Factura 2024/001", "application/xml"}},
		{"sha1-v1", crypto.SHA1, trifirma.Params{"referencesDigestMethod": "SHA1", "signerClaimedRoles": "emisor", "signatureProductionCity": "Madrid"},
			[]string{"<xades:SigningCertificate>", "X509IssuerName", "<xades:SignerRole>", "<xades:SignatureProductionPlace>"}},
		{"v1-asked", crypto.SHA256, trifirma.Params{"signingCertificateV2": "false"}, []string{"<xades:SigningCertificate>"}},
		{"exclusive-c14n", crypto.SHA256, trifirma.Params{"canonicalizationAlgorithm": "http://www.w3.org/2001/10/xml-exc-c14n#", "format": xades.VariantEnveloped},
			[]string{"xml-exc-c14n#"}},
		{"c14n11-only-signer", crypto.SHA384, trifirma.Params{"canonicalizationAlgorithm": "http://www.w3.org/2006/12/xml-c14n11", "includeOnlySignningCertificate": "true", "keepKeyInfoUnsigned": "true", "SignatureId": "my-signature-1"},
			[]string{"xml-c14n11", "Signature-my-signature-1-Signature"}},
	}
	for _, c := range cases {
		for _, id := range []*testpki.Identity{pki.RSA, pki.EC} {
			t.Run(c.name+"/"+id.Cert.PublicKeyAlgorithm.String(), func(t *testing.T) {
				out := sign(t, id, trifirma.OpSign, []byte(sampleXML), c.h, c.params)
				for _, w := range c.want {
					if !bytes.Contains(out, []byte(w)) {
						t.Errorf("output lacks %q", w)
					}
				}
				if strings.Contains(c.params["canonicalizationAlgorithm"], "c14n11") {
					// xadesjs has no C14N 1.1: xmlsec1 only.
					xmlsec1Verify(t, out)
					return
				}
				// SHA-1 was asked for: the harness fails any SHA-1 signature by policy, so only
				// xmlsec1 and xadesjs judge that case.
				validate.XAdES(t, out, validate.Options{Roots: rootsOf(t), Signers: 1, SkipHarness: c.h == crypto.SHA1})
			})
		}
	}
}

// TestEncodings signs documents declared ISO-8859-1, windows-1252 and UTF-16: the output
// keeps the document's encoding and verifies.
func TestEncodings(t *testing.T) {
	pki := testpki.Get(t)
	text := "<?xml version=\"1.0\" encoding=\"%s\"?>\r\n<factura xmlns=\"urn:f\" pa\u00eds=\"Espa\u00f1a\">Se\u00f1or \u00c1lvarez \u20ac\r\n<linea Id=\"l1\">caf\u00e9</linea></factura>"
	for _, c := range []struct {
		label, enc string
		bom        bool
	}{{"ISO-8859-1", xmldom.EncLatin1, false}, {"windows-1252", xmldom.EncWindows1252, false}, {"UTF-16", xmldom.EncUTF16LE, true}, {"UTF-16", xmldom.EncUTF16BE, true}} {
		t.Run(c.enc, func(t *testing.T) {
			doc := xmldom.EncodeText([]byte(strings.Replace(text, "%s", c.label, 1)), c.enc, c.bom)
			for _, v := range []string{xades.VariantEnveloped, xades.VariantEnveloping} {
				out := sign(t, pki.RSA, trifirma.OpSign, doc, crypto.SHA256, trifirma.Params{"format": v, "signatureProductionCity": "Logroño \u4e2d"})
				d, err := xmldom.Parse(out, xmldom.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if v == xades.VariantEnveloped && (d.Encoding != c.enc || !bytes.HasPrefix(out, doc[:len(doc)/3])) {
					t.Errorf("%s: output encoding %s, prefix kept %v", v, d.Encoding, bytes.HasPrefix(out, doc[:len(doc)/3]))
				}
				checkAnyEncoding(t, out, 1)
				co := sign(t, pki.EC, trifirma.OpCoSign, out, crypto.SHA256, nil)
				checkAnyEncoding(t, co, 2)
			}
		})
	}
}

// TestEnvelopedPlacement covers insertEnvelopedSignatureOnNodeByXPath, nodeToSign and the
// xPathNotFound confirmation.
func TestEnvelopedPlacement(t *testing.T) {
	pki := testpki.Get(t)
	doc := []byte(`<r><a><b/></a><c Id="c1"><d>x</d></c></r>`)
	out := sign(t, pki.RSA, trifirma.OpSign, doc, crypto.SHA256, trifirma.Params{"format": xades.VariantEnveloped, "insertEnvelopedSignatureOnNodeByXPath": "/r/a/b"})
	if !bytes.Contains(out, []byte("<b><ds:Signature")) {
		t.Errorf("signature not inside <b>: %s", out)
	}
	check(t, out, nil, 1)
	out = sign(t, pki.RSA, trifirma.OpSign, doc, crypto.SHA256, trifirma.Params{"format": xades.VariantEnveloped, "nodeToSign": "c1", "insertEnvelopedSignatureOnNodeByXPath": "//c"})
	if !bytes.Contains(out, []byte(`URI="#c1"`)) {
		t.Errorf("nodeToSign not referenced")
	}
	check(t, out, nil, 1)
	_, err := trifirma.Sign(context.Background(), doc, pki.RSA.Key, pki.RSA.Chain, trifirma.SignOptions{Engine: engine(),
		Params: trifirma.Params{"format": xades.VariantEnveloped, "insertEnvelopedSignatureOnNodeByXPath": "/r/zzz"}})
	var need *trifirma.ConfigNeededError
	if !errors.As(err, &need) || need.Code != trifirma.NeedXPathNotFound || need.Denied {
		t.Fatalf("missing XPath: %v", err)
	}
	out = sign(t, pki.RSA, trifirma.OpSign, doc, crypto.SHA256, trifirma.Params{"format": xades.VariantEnveloped,
		"insertEnvelopedSignatureOnNodeByXPath": "/r/zzz", "allowXadesEnvelopedWithoutXPath": "true"})
	check(t, out, nil, 1)
	_, err = trifirma.Sign(context.Background(), doc, pki.RSA.Key, pki.RSA.Chain, trifirma.SignOptions{Engine: engine(),
		Params: trifirma.Params{"format": xades.VariantEnveloped, "nodeToSign": "nope", "allowXadesEnvelopedWithoutXPath": "false"}})
	if !errors.As(err, &need) || !need.Denied {
		t.Fatalf("denied XPath: %v", err)
	}
}

func shared(t *testing.T) string {
	s := os.Getenv("TRIFIRMA_SHARED")
	if s == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TRIFIRMA_SHARED is required in CI")
		}
		t.Skip("TRIFIRMA_SHARED not set")
	}
	return s
}

// TestReferenceData co-signs and counter-signs the XAdES files of the Java reference: every
// signature of each result must verify (the old ones are SHA-1 and expired).
func TestReferenceData(t *testing.T) {
	dir := filepath.Join(shared(t), "refdata", "xades")
	pki := testpki.Get(t)
	files := []string{"firma-xades-enveloped.xml", "cofirma-xades-enveloped.xml", "contrafirma-xades-enveloped.xml", "firma_enveloping.xml",
		"cofirma_enveloping.xml", "XAdES-Detached-SHA1withRSA-XML.xml", "XAdES-Enveloping-SHA1withRSA-XML.xml",
		"XAdES-Enveloped-SHA1withRSA-XML.xml", "xades_epes_detached.xsig", "externally_detached.xsig"}
	// Newer outputs of the reference (HEAD, ECDSA, AGE policy, countersignature trees), kept
	// by the shared harness.
	samples, _ := filepath.Glob(filepath.Join(shared(t), "harness", "samples", "xades-afirma", "good-*.xml"))
	files = append(files, samples...)
	for _, f := range files {
		path := f
		if !filepath.IsAbs(f) {
			path = filepath.Join(dir, f)
		}
		f = filepath.Base(f)
		in, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n := countSignatures(t, in)
		for _, op := range []trifirma.Operation{trifirma.OpCoSign, trifirma.OpCounterSign} {
			t.Run(f+"/"+string(op), func(t *testing.T) {
				out, err := trifirma.Sign(context.Background(), in, pki.EC.Key, pki.EC.Chain, trifirma.SignOptions{
					Engine: engine(), Operation: op, Params: trifirma.Params{"target": "tree"}, Time: signTime})
				if err != nil {
					t.Fatal(err)
				}
				want := n + 1
				if op == trifirma.OpCounterSign {
					want = 2 * n
				}
				if got := countSignatures(t, out); got != want {
					t.Errorf("%d signatures, want %d", got, want)
				}
				switch f {
				case "externally_detached.xsig":
					// The external data (a PDF on a web site) is not in refdata: no validator can
					// check the data references. The countersignatures (which reference
					// SignatureValues) are checked with xmlsec1; Postsign verified the rest.
					if op == trifirma.OpCounterSign {
						xmlsec1VerifyFrom(t, out, n+1)
					}
				case "XAdES-Enveloped-SHA1withRSA-XML.xml":
					// The harness fails the input itself on its old SHA-1 signature (one line
					// mixing SHA-1 with the reference's C14N-before-enveloped order).
					validate.XAdES(t, out, validate.Options{Signers: want, AllowSHA1: true, AllowExpired: true, SkipHarness: true})
				default:
					validate.XAdES(t, out, validate.Options{Signers: want, AllowSHA1: true, AllowExpired: true})
				}
			})
		}
	}
}

// TestFacturaE signs FacturaE invoices (format FacturaE): enveloped, FacturaE 3.1 policy,
// role emisor, SigningCertificate v1.
func TestFacturaE(t *testing.T) {
	pki := testpki.Get(t)
	invoices := map[string][]byte{"minimal": []byte(`<?xml version="1.0" encoding="UTF-8"?><fe:Facturae xmlns:fe="http://www.facturae.es/Facturae/2009/v3.2/Facturae"><FileHeader><SchemaVersion>3.2</SchemaVersion></FileHeader></fe:Facturae>`)}
	if s := os.Getenv("TRIFIRMA_SHARED"); s != "" {
		for _, f := range []string{"factura_sinFirmar.xml", "facturae_32v1.xml"} {
			b, err := os.ReadFile(filepath.Join(s, "refdata", "xml", f))
			if err != nil {
				t.Fatal(err)
			}
			invoices[f] = b
		}
	}
	for name, inv := range invoices {
		t.Run(name, func(t *testing.T) {
			out, err := trifirma.Sign(context.Background(), inv, pki.RSA.Key, pki.RSA.Chain, trifirma.SignOptions{
				Engine: engine(), Format: trifirma.FormatFacturaE, Hash: crypto.SHA256, Time: signTime,
				Params: trifirma.Params{"signatureProductionCity": "Madrid", "format": xades.VariantEnveloping, "mimeType": "ignored/type"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"politica_de_firma_formato_facturae_v3_1.pdf", "Ohixl6upD6av8N7pEvDABhEL6hM=", "<xades:ClaimedRole>emisor</xades:ClaimedRole>", "<xades:SigningCertificate>"} {
				if !bytes.Contains(out, []byte(w)) {
					t.Errorf("output lacks %q", w)
				}
			}
			if bytes.Contains(out, []byte("ignored/type")) {
				t.Errorf("a parameter outside the FacturaE whitelist was used")
			}
			check(t, out, nil, 1)
		})
	}
	for _, c := range []struct {
		name string
		op   trifirma.Operation
		doc  string
		p    trifirma.Params
		want error
	}{
		{"not an invoice", trifirma.OpSign, sampleXML, nil, trifirma.ErrInvalidDocument},
		{"cosign", trifirma.OpCoSign, sampleXML, nil, trifirma.ErrUnsupportedOperation},
		{"bad role", trifirma.OpSign, string(invoices["minimal"]), trifirma.Params{"signerClaimedRoles": "rey"}, trifirma.ErrInvalidParams},
	} {
		req := request(pki.RSA, c.op, []byte(c.doc), c.p)
		req.Format = trifirma.FormatFacturaE
		if _, err := engine().Presign(context.Background(), req); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}
