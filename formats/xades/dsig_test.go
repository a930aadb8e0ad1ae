package xades

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/c14n"
	"github.com/trifirma/trifirma/internal/xmldom"
)

// TestJavaDigests recomputes, with our parser, canonicaliser and transforms, every reference
// digest of the signatures the Java reference made (Apache Santuario's C14N), including its
// C14N-before-enveloped-signature transform order, and checks each SignedInfo canonicalises
// as the signature value expects (by re-digesting it is not possible without the key, so
// only the references are compared here; xmlsec1 and xadesjs check the rest elsewhere).
func TestJavaDigests(t *testing.T) {
	s := os.Getenv("TRIFIRMA_SHARED")
	if s == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TRIFIRMA_SHARED is required in CI")
		}
		t.Skip("TRIFIRMA_SHARED not set")
	}
	files, _ := filepath.Glob(filepath.Join(s, "refdata", "xades", "*.x*"))
	more, _ := filepath.Glob(filepath.Join(s, "harness", "samples", "xades-afirma", "good-*.xml"))
	files = append(files, more...)
	checked, signed := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := xmldom.Parse(data, xmldom.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, sig := range findSignatures(&doc.Node) {
			si, err := readSignature(sig)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			for _, r := range si.refs {
				d, err := digestReference(r, &doc.Node, sig, doc.ElementsByID, xmldom.Limits{})
				if errors.Is(err, errUnsupportedRef) {
					continue
				}
				if err != nil {
					t.Errorf("%s %s %q: %v", filepath.Base(f), si.id, r.URI, err)
					continue
				}
				if !bytes.Equal(d, r.DigestValue) {
					t.Errorf("%s %s %q: digest differs from the Java reference", filepath.Base(f), si.id, r.URI)
				}
				checked++
			}
			if err := verifySignatureValue(si); err != nil {
				t.Errorf("%s %s: %v", filepath.Base(f), si.id, err)
			}
			signed++
		}
	}
	if checked < 50 {
		t.Fatalf("only %d references checked", checked)
	}
	t.Logf("%d reference digests and %d signature values (over our C14N of SignedInfo) of the Java reference verified", checked, signed)
}

// verifySignatureValue checks a signature value with the first KeyInfo certificate over our
// canonical form of SignedInfo.
func verifySignatureValue(si *signatureInfo) error {
	cm := si.signedInfo.FirstElement(NSDS, "CanonicalizationMethod")
	alg, err := c14n.ParseAlgorithm(cm.AttrValue("Algorithm"))
	if err != nil {
		return err
	}
	pre, err := c14n.Bytes(si.signedInfo, alg, nil)
	if err != nil {
		return err
	}
	var certB64 string
	if si.keyInfo != nil {
		for _, xd := range si.keyInfo.Elements() {
			if c := xd.FirstElement(NSDS, "X509Certificate"); c != nil && certB64 == "" {
				certB64 = c.Text()
			}
		}
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(certB64), ""))
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	uri := si.signedInfo.FirstElement(NSDS, "SignatureMethod").AttrValue("Algorithm")
	h, err := trifirma.ParseDigest(uri[strings.LastIndexAny(uri, "-#")+1:])
	if err != nil {
		return err
	}
	sv, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(si.sigValue.Text()), ""))
	if err != nil {
		return err
	}
	key := trifirma.KeyRSA
	if _, ok := cert.PublicKey.(*ecdsa.PublicKey); ok {
		key = trifirma.KeyECDSA
		n := len(sv) / 2
		if sv, err = asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(sv[:n]), new(big.Int).SetBytes(sv[n:])}); err != nil {
			return err
		}
	}
	if err := trifirma.VerifySignature(cert, trifirma.SignatureAlgorithm{Hash: h, Key: key}, pre, sv); err != nil {
		return fmt.Errorf("signature value over our C14N of SignedInfo: %w", err)
	}
	return nil
}
