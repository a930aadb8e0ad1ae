package cades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/internal/cms"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
)

var hashes = []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}

// signTime is inside the validity of the test PKI (generated with notBefore = now - 24h).
var signTime = time.Now().Add(-time.Hour).UTC().Truncate(time.Second)

func sign(t testing.TB, id *testpki.Identity, op trifirma.Operation, doc []byte, h crypto.Hash, params trifirma.Params) []byte {
	t.Helper()
	out, err := trifirma.Sign(context.Background(), doc, id.Key, id.Chain, trifirma.SignOptions{
		Engine: cades.New(cades.Config{}), Format: trifirma.FormatCAdES, Operation: op, Hash: h, Params: params, Time: signTime,
	})
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	return out
}

func check(t testing.TB, sig, detached []byte, signers int) {
	t.Helper()
	pki := testpki.Get(t)
	validate.CAdES(t, sig, validate.Options{Detached: detached, Roots: []*x509.Certificate{pki.Root}, Signers: signers})
}

func mode(implicit bool) trifirma.Params {
	if implicit {
		return trifirma.Params{"mode": "implicit"}
	}
	return trifirma.Params{"mode": "explicit"}
}

// TestMatrix signs, co-signs and countersigns (leafs and tree) with RSA, P-256 and P-384 keys,
// in both modes, with every digest, and validates each result with external validators.
func TestMatrix(t *testing.T) {
	pki := testpki.Get(t)
	doc := []byte("Hola Mundo: documento de prueba para CAdES trifásico\n")
	ids := []struct {
		name string
		id   *testpki.Identity
		all  bool // every digest; otherwise SHA-384 only
	}{{"RSA", pki.RSA, true}, {"P256", pki.EC, true}, {"P384", pki.EC384, false}}
	for _, ident := range ids {
		for _, h := range hashes {
			if !ident.all && h != crypto.SHA384 {
				continue
			}
			for _, implicit := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/implicit=%v", ident.name, trifirma.DigestName(h), implicit)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					var detached []byte
					if !implicit {
						detached = doc
					}
					s1 := sign(t, ident.id, trifirma.OpSign, doc, h, mode(implicit))
					check(t, s1, detached, 1)
					assertContent(t, s1, implicit, doc)

					// Co-sign a signature by another signer with the same digest.
					s2 := sign(t, ident.id, trifirma.OpCoSign, s1, h, mode(implicit))
					check(t, s2, detached, 2)
					assertSigners(t, s2, 2, 0)

					// Countersign the leaves, then the whole tree.
					s3 := sign(t, pki.RSA2, trifirma.OpCounterSign, s2, h, trifirma.Params{"target": "leafs"})
					check(t, s3, detached, 4)
					assertSigners(t, s3, 2, 2)
					s4 := sign(t, ident.id, trifirma.OpCounterSign, s3, h, trifirma.Params{"target": "tree"})
					check(t, s4, detached, 8)
					assertSigners(t, s4, 2, 6)
				})
			}
		}
	}
}

func assertContent(t testing.TB, sig []byte, implicit bool, doc []byte) {
	t.Helper()
	sd, err := cms.ParseSignedData(sig)
	if err != nil {
		t.Fatal(err)
	}
	if sd.HasContent != implicit {
		t.Fatalf("HasContent = %v, want %v", sd.HasContent, implicit)
	}
	if implicit && !bytes.Equal(bytes.Join(sd.Content, nil), doc) {
		t.Fatal("embedded content differs")
	}
}

// assertSigners checks the number of top-level signers and of countersignatures.
func assertSigners(t testing.TB, sig []byte, top, counter int) {
	t.Helper()
	sd, err := cms.ParseSignedData(sig)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	_ = sd.Walk(func(si *cms.SignerInfo, depth int) error {
		if depth > 0 {
			n++
		}
		return nil
	})
	if len(sd.SignerInfos) != top || n != counter {
		t.Fatalf("signers = %d top-level, %d countersignatures; want %d, %d", len(sd.SignerInfos), n, top, counter)
	}
	// Each certificate appears once.
	seen := map[string]bool{}
	for _, c := range sd.Certificates {
		if seen[string(c)] {
			t.Fatal("duplicate certificate")
		}
		seen[string(c)] = true
	}
}

func TestEPESWithAGEPreset(t *testing.T) {
	pki := testpki.Get(t)
	doc := bytes.Repeat([]byte("EPES "), 1000)
	for _, name := range []string{"FirmaAGE", "FirmaAGE18"} {
		for _, id := range []*testpki.Identity{pki.RSA, pki.EC} {
			t.Run(name+"/"+id.Cert.Subject.CommonName, func(t *testing.T) {
				p := trifirma.Params{"expPolicy": name, "mode": "implicit"}
				s := sign(t, id, trifirma.OpSign, doc, crypto.SHA256, p)
				check(t, s, nil, 1)
				sd, err := cms.ParseSignedData(s)
				if err != nil {
					t.Fatal(err)
				}
				v, ok := sd.SignerInfos[0].Attr(cms.OIDAttrSigPolicyID)
				if !ok {
					t.Fatal("no signature-policy-identifier")
				}
				var spi struct {
					ID   asn1.ObjectIdentifier
					Hash struct {
						Alg   struct{ OID asn1.ObjectIdentifier }
						Value []byte
					}
					Quals []struct {
						ID  asn1.ObjectIdentifier
						URI string `asn1:"ia5"`
					}
				}
				if _, err := asn1.Unmarshal(v[0], &spi); err != nil {
					t.Fatal(err)
				}
				wantOID := asn1.ObjectIdentifier{2, 16, 724, 1, 3, 1, 1, 2, 1, 9}
				if name == "FirmaAGE18" {
					wantOID[len(wantOID)-1] = 8
				}
				if !spi.ID.Equal(wantOID) || !spi.Hash.Alg.OID.Equal(cms.OIDSHA1) || len(spi.Hash.Value) != 20 || len(spi.Quals) != 1 {
					t.Fatalf("policy = %+v", spi)
				}
				// Co-sign and countersign keep working on an EPES signature.
				s2 := sign(t, pki.RSA2, trifirma.OpCoSign, s, crypto.SHA256, p)
				check(t, s2, nil, 2)
				s3 := sign(t, id, trifirma.OpCounterSign, s2, crypto.SHA256, p)
				check(t, s3, nil, 4)
			})
		}
	}
}

func TestEPESExplicitPolicyParams(t *testing.T) {
	pki := testpki.Get(t)
	p := trifirma.Params{
		"policyIdentifier":                                  "urn:oid:1.3.6.1.4.1.99999.5.1",
		"policyIdentifierHash":                              "1uMvRc4Xu3T5Ib+dLfXbWzqyVVMSMqMZAi4a9Ni/C+o=",
		"policyIdentifierHashAlgorithm":                     "SHA-256",
		"policyQualifier":                                   "https://example.org/policy.pdf",
		"signerClaimedRoles":                                "Director|Apoderado",
		"signatureProductionCity":                           "Madrid",
		"signatureProductionCountry":                        "ES",
		"signatureProductionPostalCode":                     "28001",
		"commitmentTypeIndications":                         "2",
		"commitmentTypeIndication0Identifier":               "1",
		"commitmentTypeIndication0CommitmentTypeQualifiers": "1.2.3.4.1|1.2.3.4.2",
		"commitmentTypeIndication1Identifier":               "1.2.840.113549.1.9.16.6.5",
		"includeMimeTypeAttribute":                          "true",
		"mimeType":                                          "text/plain",
		"contentDescription":                                "texto",
	}
	for _, baseline := range []bool{false, true} {
		q := p.Clone()
		if baseline {
			q["profile"] = "baseline"
		}
		s := sign(t, pki.RSA, trifirma.OpSign, []byte("doc"), crypto.SHA512, q)
		check(t, s, []byte("doc"), 1)
		sd, _ := cms.ParseSignedData(s)
		si := sd.SignerInfos[0]
		for _, oid := range []asn1.ObjectIdentifier{cms.OIDAttrSigPolicyID, cms.OIDAttrSignerLocation, cms.OIDAttrCommitmentType, cms.OIDAttrMimeType, cms.OIDAttrContentHint} {
			if _, ok := si.Attr(oid); !ok {
				t.Errorf("missing attribute %v", oid)
			}
		}
		roles := cms.OIDAttrSignerAttr
		if baseline {
			roles = cms.OIDAttrSignerAttrV2
		}
		if _, ok := si.Attr(roles); !ok {
			t.Errorf("baseline=%v: missing roles attribute %v", baseline, roles)
		}
	}
}

func TestPolicyErrors(t *testing.T) {
	pki := testpki.Get(t)
	e := cades.New(cades.Config{})
	for name, tc := range map[string]struct {
		p    trifirma.Params
		want error
	}{
		"no hash":        {trifirma.Params{"policyIdentifier": "urn:oid:1.2.3.4"}, trifirma.ErrInvalidParams},
		"hash zero":      {trifirma.Params{"policyIdentifier": "http://example.org/p.pdf", "policyIdentifierHash": "0"}, trifirma.ErrInvalidParams},
		"no hash alg":    {trifirma.Params{"policyIdentifier": "1.2.3.4", "policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0="}, trifirma.ErrInvalidParams},
		"bad size":       {trifirma.Params{"policyIdentifier": "1.2.3.4", "policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0=", "policyIdentifierHashAlgorithm": "SHA-256"}, trifirma.ErrInvalidParams},
		"url identifier": {trifirma.Params{"policyIdentifier": "http://x/p.pdf", "policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0=", "policyIdentifierHashAlgorithm": "SHA1"}, trifirma.ErrInvalidParams},
		"bad mode":       {trifirma.Params{"mode": "attached"}, trifirma.ErrInvalidParams},
		"tsa disabled":   {trifirma.Params{"tsaURL": "http://127.0.0.1:1/tsa"}, trifirma.ErrInvalidParams},
	} {
		t.Run(name, func(t *testing.T) {
			req := &trifirma.Request{Operation: trifirma.OpSign, Document: []byte("x"), Chain: pki.RSA.Chain,
				Algorithm: trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}, Params: tc.p, Time: signTime}
			td, err := e.Presign(context.Background(), req)
			if err == nil {
				// tsaURL is only refused at postsign (presign contacts nothing).
				_, err = e.Postsign(context.Background(), req, td)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// Unsupported presets ask for confirmation, like the reference's incompatibility.
	for _, op := range []trifirma.Operation{trifirma.OpSign, trifirma.OpCoSign, trifirma.OpCounterSign} {
		req := &trifirma.Request{Operation: op, Document: []byte("x"), Chain: pki.RSA.Chain,
			Algorithm: trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}, Params: trifirma.Params{"expPolicy": "FirmaAGE19"}}
		_, err := e.Presign(context.Background(), req)
		var cn *trifirma.ConfigNeededError
		if !errors.As(err, &cn) || cn.Param != "avoidAGEPolicyIncompatibilities" || cn.Denied {
			t.Fatalf("%s: err = %v", op, err)
		}
	}
}
