package xades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/xades"
	"github.com/trifirma/trifirma/internal/testpki"
)

func request(id *testpki.Identity, op trifirma.Operation, doc []byte, p trifirma.Params) *trifirma.Request {
	alg, _ := trifirma.ComposeAlgorithm("SHA256", id.Cert.PublicKey)
	return &trifirma.Request{Operation: op, Format: trifirma.FormatXAdES, Document: doc, Chain: id.Chain, Algorithm: alg, Params: p, Time: signTime}
}

// signSession adds a PK1 to every firma, as a device does.
func signSession(t *testing.T, id *testpki.Identity, req *trifirma.Request, td *trifirma.TriphaseData) {
	signSessionB(t, id, req, td)
}

func signSessionB(t testing.TB, id *testpki.Identity, req *trifirma.Request, td *trifirma.TriphaseData) {
	t.Helper()
	for _, sd := range td.Signs {
		pre, err := sd.Bytes(trifirma.ParamPRE)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := id.Key.Sign(rand.Reader, req.Algorithm.Digest(pre), req.Algorithm.SignerOpts())
		if err != nil {
			t.Fatal(err)
		}
		sd.Set(trifirma.ParamPK1, trifirma.EncodeStd(sig))
	}
}

func TestBadInput(t *testing.T) {
	pki := testpki.Get(t)
	e := xades.New(xades.Config{})
	ctx := context.Background()
	signed := sign(t, pki.RSA, trifirma.OpSign, []byte(sampleXML), crypto.SHA256, trifirma.Params{"format": xades.VariantEnveloping})
	dupID := bytes.Replace(signed, []byte("<ds:Object>"), []byte(`<ds:Object><ds:Object Id="`+objectID(t, signed)+`">forged</ds:Object>`), 1)
	cases := []struct {
		name string
		op   trifirma.Operation
		doc  string
		p    trifirma.Params
		want error
	}{
		{"enveloped non-XML", trifirma.OpSign, "%PDF-1.4 not xml", trifirma.Params{"format": xades.VariantEnveloped}, trifirma.ErrInvalidDocument},
		{"enveloped doctype", trifirma.OpSign, `<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>`, trifirma.Params{"format": xades.VariantEnveloped}, trifirma.ErrInvalidDocument},
		{"enveloped entity", trifirma.OpSign, `<a>&e;</a>`, trifirma.Params{"format": xades.VariantEnveloped}, trifirma.ErrInvalidDocument},
		{"enveloped already signed", trifirma.OpSign, string(sign(t, pki.RSA, trifirma.OpSign, []byte(sampleXML), crypto.SHA256, trifirma.Params{"format": xades.VariantEnveloped})), trifirma.Params{"format": xades.VariantEnveloped}, trifirma.ErrInvalidDocument},
		{"empty", trifirma.OpSign, "", nil, trifirma.ErrInvalidDocument},
		{"cosign non-XML", trifirma.OpCoSign, "hello", nil, trifirma.ErrInvalidDocument},
		{"cosign unsigned", trifirma.OpCoSign, sampleXML, nil, trifirma.ErrInvalidDocument},
		{"countersign unsigned", trifirma.OpCounterSign, sampleXML, nil, trifirma.ErrInvalidDocument},
		{"cosign doctype", trifirma.OpCoSign, "<!DOCTYPE x>" + string(signed[strings.Index(string(signed), "<ds:Signature"):]), nil, trifirma.ErrInvalidDocument},
		{"cosign duplicate Id", trifirma.OpCoSign, string(dupID), nil, trifirma.ErrInvalidDocument},
		{"countersign duplicate Id", trifirma.OpCounterSign, string(dupID), nil, trifirma.ErrInvalidDocument},
		{"bad variant", trifirma.OpSign, sampleXML, trifirma.Params{"format": "XAdES Sideways"}, trifirma.ErrInvalidParams},
		{"external without uri", trifirma.OpSign, sampleXML, trifirma.Params{"format": xades.VariantExternal}, trifirma.ErrInvalidParams},
		{"reserved marker", trifirma.OpSign, sampleXML, trifirma.Params{"signatureProductionCity": "====REPLACEME_0===="}, trifirma.ErrInvalidParams},
		{"bad c14n", trifirma.OpSign, sampleXML, trifirma.Params{"canonicalizationAlgorithm": "urn:nope"}, trifirma.ErrInvalidParams},
		{"bad digest", trifirma.OpSign, sampleXML, trifirma.Params{"referencesDigestMethod": "MD5"}, trifirma.ErrUnsupportedAlgorithm},
		{"policy without hash", trifirma.OpSign, sampleXML, trifirma.Params{"policyIdentifier": "urn:oid:1.2.3"}, trifirma.ErrInvalidParams},
		{"bad SignatureId", trifirma.OpSign, sampleXML, trifirma.Params{"SignatureId": `a"b`}, trifirma.ErrInvalidParams},
		{"bad xpath", trifirma.OpSign, sampleXML, trifirma.Params{"format": xades.VariantEnveloped, "insertEnvelopedSignatureOnNodeByXPath": "count(//a)"}, trifirma.ErrInvalidParams},
		{"manifest", trifirma.OpSign, sampleXML, trifirma.Params{"useManifest": "true"}, trifirma.ErrInvalidParams},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			td, err := e.Presign(ctx, request(pki.RSA, c.op, []byte(c.doc), c.p))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v (%v), want %v", err, td, c.want)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		small := xades.New(xades.Config{MaxDocumentSize: 64})
		_, err := small.Presign(ctx, request(pki.RSA, trifirma.OpSign, []byte(sampleXML), trifirma.Params{"format": xades.VariantEnveloped}))
		if !errors.Is(err, trifirma.ErrTooLarge) {
			t.Fatal(err)
		}
		deep := strings.Repeat("<a>", 1000) + strings.Repeat("</a>", 1000)
		_, err = e.Presign(ctx, request(pki.RSA, trifirma.OpSign, []byte(deep), trifirma.Params{"format": xades.VariantEnveloped}))
		if !errors.Is(err, trifirma.ErrTooLarge) {
			t.Fatal(err)
		}
	})
}

func objectID(t *testing.T, doc []byte) string {
	s := string(doc)
	i := strings.Index(s, `<ds:Object Id="`)
	if i < 0 {
		t.Fatal("no data object")
	}
	s = s[i+len(`<ds:Object Id="`):]
	return s[:strings.IndexByte(s, '"')]
}

// TestPostsignRefuses covers the postsign checks: a PK1 that does not verify, a document
// that is not the presigned one, a modified BASE, and a PK1 of the wrong type.
func TestPostsignRefuses(t *testing.T) {
	pki := testpki.Get(t)
	e := xades.New(xades.Config{})
	ctx := context.Background()
	for _, v := range []string{xades.VariantEnveloped, xades.VariantEnveloping, xades.VariantDetached} {
		t.Run(v, func(t *testing.T) {
			req := request(pki.RSA, trifirma.OpSign, []byte(sampleXML), trifirma.Params{"format": v})
			fresh := func() *trifirma.TriphaseData {
				td, err := e.Presign(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				signSession(t, pki.RSA, req, td)
				return td
			}
			td := fresh()
			if _, err := e.Postsign(ctx, req, td); err != nil {
				t.Fatalf("good postsign: %v", err)
			}
			// PK1 over other bytes.
			td = fresh()
			other, _ := pki.RSA.Key.Sign(rand.Reader, req.Algorithm.Digest([]byte("other")), crypto.SHA256)
			td.Signs[0].Set(trifirma.ParamPK1, trifirma.EncodeStd(other))
			if _, err := e.Postsign(ctx, req, td); !errors.Is(err, trifirma.ErrBadSignatureValue) {
				t.Errorf("wrong PK1: %v", err)
			}
			// Garbage PK1.
			td = fresh()
			td.Signs[0].Set(trifirma.ParamPK1, "AAAA")
			if _, err := e.Postsign(ctx, req, td); !errors.Is(err, trifirma.ErrBadSignatureValue) {
				t.Errorf("garbage PK1: %v", err)
			}
			// Another document at postsign.
			td = fresh()
			req2 := *req
			req2.Document = []byte(strings.Replace(sampleXML, "Uno", "Dos", 1))
			if _, err := e.Postsign(ctx, &req2, td); !errors.Is(err, trifirma.ErrInvalidDocument) {
				t.Errorf("other document: %v", err)
			}
			// BASE modified (a digest changed): SignedInfo no longer matches PRE.
			td = fresh()
			base, _ := td.Signs[0].Bytes(trifirma.ParamBase)
			i := bytes.Index(base, []byte("<ds:DigestValue>")) + len("<ds:DigestValue>")
			base[i] ^= 1
			td.Signs[0].Set(trifirma.ParamBase, trifirma.EncodeStd(base))
			if _, err := e.Postsign(ctx, req, td); err == nil {
				t.Errorf("modified BASE accepted")
			}
			// No BASE.
			td = fresh()
			td.Signs[0].Delete(trifirma.ParamBase)
			if _, err := e.Postsign(ctx, req, td); !errors.Is(err, trifirma.ErrInvalidSession) {
				t.Errorf("no BASE: %v", err)
			}
		})
	}
	t.Run("ECDSA PK1 with RSA cert", func(t *testing.T) {
		req := request(pki.EC, trifirma.OpSign, []byte(sampleXML), nil)
		td, err := e.Presign(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := td.Signs[0].Get(trifirma.ParamPK1Decoded); v != "true" {
			t.Errorf("PK1_DECODED missing for ECDSA")
		}
		signSession(t, pki.EC, req, td)
		reqRSA := *req
		reqRSA.Chain = pki.RSA.Chain
		if _, err := e.Postsign(ctx, &reqRSA, td); err == nil {
			t.Errorf("postsign with another certificate accepted")
		}
	})
}

// TestCosignWouldBreak refuses to co-sign a document whose existing enveloped signature
// covers the whole document without excluding other signatures (as a FacturaE signature).
func TestCosignWouldBreak(t *testing.T) {
	pki := testpki.Get(t)
	signed := sign(t, pki.RSA, trifirma.OpSign, []byte(sampleXML), crypto.SHA256, trifirma.Params{"format": xades.VariantEnveloped})
	// Drop the XPath filter (keeping the signature intact is not needed to test the check).
	i := bytes.Index(signed, []byte(`<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116">`))
	j := bytes.Index(signed, []byte(`</ds:XPath></ds:Transform>`)) + len(`</ds:XPath></ds:Transform>`)
	broken := append(append([]byte{}, signed[:i]...), signed[j:]...)
	_, err := xades.New(xades.Config{}).Presign(context.Background(), request(pki.EC, trifirma.OpCoSign, broken, nil))
	if !errors.Is(err, trifirma.ErrInvalidDocument) || !strings.Contains(err.Error(), "invalidate") {
		t.Fatalf("got %v", err)
	}
}
