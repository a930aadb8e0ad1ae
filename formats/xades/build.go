package xades

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/c14n"
	"github.com/trifirma/trifirma/policy"
)

// dataRef is a reference to signed data of a new signature.
type dataRef struct {
	ref reference
	// fixed is the digest when it is known without the document (an external reference
	// copied from a cosigned signature, or the digest of binary data).
	fixed []byte
	// format describes the data (DataObjectFormat); nil: none.
	format *dataFormat
}

type dataFormat struct {
	mime, encoding, description, oid string
}

// newSig is a signature the presign adds.
type newSig struct {
	base    string // the uuid in the Ids
	refs    []*dataRef
	objects []string // extra ds:Object markup (with cut markers)
	// outer wraps the signature: outer[0] + signature + outer[1] (countersignature wrappers).
	outer [2]string
	// propExc canonicalises SignedProperties and KeyInfo with exclusive C14N (see
	// inheritsXMLAttrs).
	propExc bool
}

func (s *newSig) id(suffix string) string { return "Signature-" + s.base + "-" + suffix }

// propTransforms are the transforms of the SignedProperties and KeyInfo references: none
// (inclusive C14N 1.0 by default) unless exclusive canonicalisation is needed or another
// algorithm was asked for.
func (s *newSig) propTransforms(o *options) []transform {
	switch {
	case s.propExc:
		return []transform{{Algorithm: c14n.URIExclusive10}}
	case o.canonSet && o.canon.URI() != c14n.URIInclusive10:
		return []transform{{Algorithm: o.canon.URI()}}
	}
	return nil
}

// canon is the CanonicalizationMethod of the signature.
func (s *newSig) canon(o *options) c14n.Algorithm {
	if s.propExc {
		return c14n.Algorithm{Method: c14n.Exclusive10}
	}
	return o.canon
}

const placeholderSV = "====REPLACEME_%d===="

// xml writes the ds:Signature of s with the given reference digests (nil entries: zeros of
// the right size) and SignatureValue placeholder index.
func (s *newSig) xml(o *options, digests [][]byte, spDigest, kiDigest []byte, index int) (string, error) {
	var w xw
	sigURI, err := signatureURI(o.alg)
	if err != nil {
		return "", err
	}
	refURI, err := digestURI(o.refDigest)
	if err != nil {
		return "", err
	}
	w.raw(s.outer[0])
	w.start("ds:Signature", "xmlns:ds", NSDS, "Id", s.id("Signature"))
	w.start("ds:SignedInfo")
	w.empty("ds:CanonicalizationMethod", "Algorithm", s.canon(o).URI())
	w.empty("ds:SignatureMethod", "Algorithm", sigURI)
	for i, r := range s.refs {
		attrs := []string{}
		if r.ref.ID != "" {
			attrs = append(attrs, "Id", r.ref.ID)
		}
		if r.ref.Type != "" {
			attrs = append(attrs, "Type", r.ref.Type)
		}
		attrs = append(attrs, "URI", r.ref.URI)
		w.start("ds:Reference", attrs...)
		if len(r.ref.Transforms) > 0 {
			w.start("ds:Transforms")
			for _, t := range r.ref.Transforms {
				switch {
				case t.XPath != "":
					w.start("ds:Transform", "Algorithm", t.Algorithm)
					w.start("ds:XPath", "xmlns:ds", NSDS)
					w.text(t.XPath)
					w.end("ds:XPath")
					w.end("ds:Transform")
				case len(t.Prefixes) > 0:
					w.start("ds:Transform", "Algorithm", t.Algorithm)
					w.empty("ec:InclusiveNamespaces", "xmlns:ec", c14n.URIExclusive10, "PrefixList", strings.Join(t.Prefixes, " "))
					w.end("ds:Transform")
				default:
					w.empty("ds:Transform", "Algorithm", t.Algorithm)
				}
			}
			w.end("ds:Transforms")
		}
		du, err := digestURI(r.ref.Digest)
		if err != nil {
			return "", err
		}
		w.empty("ds:DigestMethod", "Algorithm", du)
		w.elem("ds:DigestValue", b64(digests[i], r.ref.Digest))
		w.end("ds:Reference")
	}
	propTransforms := func() {
		if ts := s.propTransforms(o); len(ts) > 0 {
			w.start("ds:Transforms")
			w.empty("ds:Transform", "Algorithm", ts[0].Algorithm)
			w.end("ds:Transforms")
		}
	}
	w.start("ds:Reference", "Type", o.spType, "URI", "#"+s.id("SignedProperties"))
	propTransforms()
	w.empty("ds:DigestMethod", "Algorithm", refURI)
	w.elem("ds:DigestValue", b64(spDigest, o.refDigest))
	w.end("ds:Reference")
	if o.signKI {
		w.start("ds:Reference", "URI", "#"+s.id("KeyInfo"))
		propTransforms()
		w.empty("ds:DigestMethod", "Algorithm", refURI)
		w.elem("ds:DigestValue", b64(kiDigest, o.refDigest))
		w.end("ds:Reference")
	}
	w.end("ds:SignedInfo")
	w.start("ds:SignatureValue", "Id", s.id("SignatureValue"))
	w.raw(fmt.Sprintf(placeholderSV, index))
	w.end("ds:SignatureValue")
	if err := keyInfo(&w, o, s.id("KeyInfo")); err != nil {
		return "", err
	}
	for _, obj := range s.objects {
		w.raw(obj)
	}
	w.start("ds:Object")
	w.start("xades:QualifyingProperties", "xmlns:xades", NSXAdES, "Id", s.id("QualifyingProperties"), "Target", "#"+s.id("Signature"))
	w.start("xades:SignedProperties", "Id", s.id("SignedProperties"))
	if err := signedSignatureProperties(&w, o); err != nil {
		return "", err
	}
	dataObjectProperties(&w, o, s.refs)
	w.end("xades:SignedProperties")
	w.end("xades:QualifyingProperties")
	w.end("ds:Object")
	w.end("ds:Signature")
	w.raw(s.outer[1])
	return w.String(), nil
}

func b64(d []byte, h crypto.Hash) string {
	if d == nil {
		d = make([]byte, h.Size())
	}
	return base64.StdEncoding.EncodeToString(d)
}

func keyInfo(w *xw, o *options, id string) error {
	w.start("ds:KeyInfo", "Id", id)
	w.start("ds:X509Data")
	certs := o.chain
	if o.onlySigner {
		certs = certs[:1]
	}
	for _, c := range certs {
		if c == nil {
			return fmt.Errorf("%w: nil certificate in the chain", trifirma.ErrInvalidCertificate)
		}
		w.elem("ds:X509Certificate", base64.StdEncoding.EncodeToString(c.Raw))
	}
	w.end("ds:X509Data")
	if o.keyValue {
		switch pub := o.signer.PublicKey.(type) {
		case *rsa.PublicKey:
			w.start("ds:KeyValue")
			w.start("ds:RSAKeyValue")
			w.elem("ds:Modulus", base64.StdEncoding.EncodeToString(pub.N.Bytes()))
			w.elem("ds:Exponent", base64.StdEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()))
			w.end("ds:RSAKeyValue")
			w.end("ds:KeyValue")
		case *ecdsa.PublicKey:
			// EC key values need the XML-DSig 1.1 ECKeyValue: the certificate is enough.
		}
	}
	w.end("ds:KeyInfo")
	return nil
}

// issuerName returns the RFC 4514 string of the issuer in certificate order.
func issuerName(c *x509.Certificate) string {
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(c.RawIssuer, &seq); err != nil {
		return c.Issuer.String()
	}
	return seq.String()
}

// issuerSerialV2 is the DER of RFC 5035 IssuerSerial (issuer as a directoryName).
func issuerSerialV2(c *x509.Certificate) (string, error) {
	gn, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: c.RawIssuer})
	if err != nil {
		return "", err
	}
	gns, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: gn})
	if err != nil {
		return "", err
	}
	serial, err := asn1.Marshal(c.SerialNumber)
	if err != nil {
		return "", err
	}
	der, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: append(gns, serial...)})
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

func signedSignatureProperties(w *xw, o *options) error {
	w.start("xades:SignedSignatureProperties")
	w.elem("xades:SigningTime", o.time.Format("2006-01-02T15:04:05-07:00"))
	du, err := digestURI(o.refDigest)
	if err != nil {
		return err
	}
	h := o.refDigest.New()
	h.Write(o.signer.Raw)
	certDigest := base64.StdEncoding.EncodeToString(h.Sum(nil))
	if o.certV2 {
		is, err := issuerSerialV2(o.signer)
		if err != nil {
			return fmt.Errorf("%w: %v", trifirma.ErrInvalidCertificate, err)
		}
		w.start("xades:SigningCertificateV2")
		w.start("xades:Cert")
		w.start("xades:CertDigest")
		w.empty("ds:DigestMethod", "Algorithm", du)
		w.elem("ds:DigestValue", certDigest)
		w.end("xades:CertDigest")
		w.elem("xades:IssuerSerialV2", is)
		w.end("xades:Cert")
		w.end("xades:SigningCertificateV2")
	} else {
		w.start("xades:SigningCertificate")
		w.start("xades:Cert")
		w.start("xades:CertDigest")
		w.empty("ds:DigestMethod", "Algorithm", du)
		w.elem("ds:DigestValue", certDigest)
		w.end("xades:CertDigest")
		w.start("xades:IssuerSerial")
		w.elem("ds:X509IssuerName", issuerName(o.signer))
		w.elem("ds:X509SerialNumber", o.signer.SerialNumber.String())
		w.end("xades:IssuerSerial")
		w.end("xades:Cert")
		w.end("xades:SigningCertificate")
	}
	if o.policy != nil {
		if err := policyIdentifier(w, o.policy); err != nil {
			return err
		}
	}
	if o.city != "" || o.street != "" || o.province != "" || o.postal != "" || o.country != "" {
		if o.certV2 {
			w.start("xades:SignatureProductionPlaceV2")
		} else {
			w.start("xades:SignatureProductionPlace")
		}
		opt := func(name, v string) {
			if v != "" {
				w.elem(name, v)
			}
		}
		opt("xades:City", o.city)
		if o.certV2 {
			opt("xades:StreetAddress", o.street)
		}
		opt("xades:StateOrProvince", o.province)
		opt("xades:PostalCode", o.postal)
		opt("xades:CountryName", o.country)
		if o.certV2 {
			w.end("xades:SignatureProductionPlaceV2")
		} else {
			w.end("xades:SignatureProductionPlace")
		}
	}
	if len(o.roles) > 0 {
		name := "xades:SignerRole"
		if o.certV2 {
			name = "xades:SignerRoleV2"
		}
		w.start(name)
		w.start("xades:ClaimedRoles")
		for _, r := range o.roles {
			w.elem("xades:ClaimedRole", r)
		}
		w.end("xades:ClaimedRoles")
		w.end(name)
	}
	w.end("xades:SignedSignatureProperties")
	return nil
}

func policyIdentifier(w *xw, p *policy.Policy) error {
	du, err := digestURI(p.HashAlgorithm)
	if err != nil {
		return err
	}
	id := p.Identifier
	if p.OID != nil && !strings.HasPrefix(strings.ToLower(id), "urn:oid:") {
		id = "urn:oid:" + p.OID.String()
	}
	w.start("xades:SignaturePolicyIdentifier")
	w.start("xades:SignaturePolicyId")
	w.start("xades:SigPolicyId")
	if p.OID != nil {
		w.elem("xades:Identifier", id, "Qualifier", "OIDAsURN")
	} else {
		w.elem("xades:Identifier", id)
	}
	if p.Description != "" {
		w.elem("xades:Description", p.Description)
	}
	w.end("xades:SigPolicyId")
	w.start("xades:SigPolicyHash")
	w.empty("ds:DigestMethod", "Algorithm", du)
	w.elem("ds:DigestValue", base64.StdEncoding.EncodeToString(p.Hash))
	w.end("xades:SigPolicyHash")
	if p.Qualifier != "" {
		w.start("xades:SigPolicyQualifiers")
		w.start("xades:SigPolicyQualifier")
		w.elem("xades:SPURI", p.Qualifier)
		w.end("xades:SigPolicyQualifier")
		w.end("xades:SigPolicyQualifiers")
	}
	w.end("xades:SignaturePolicyId")
	w.end("xades:SignaturePolicyIdentifier")
	return nil
}

func dataObjectProperties(w *xw, o *options, refs []*dataRef) {
	has := len(o.commits) > 0
	for _, r := range refs {
		if r.format != nil {
			has = true
		}
	}
	if !has {
		return
	}
	w.start("xades:SignedDataObjectProperties")
	for _, r := range refs {
		f := r.format
		if f == nil {
			continue
		}
		w.start("xades:DataObjectFormat", "ObjectReference", "#"+r.ref.ID)
		if f.description != "" {
			w.elem("xades:Description", f.description)
		}
		if f.oid != "" {
			w.start("xades:ObjectIdentifier")
			w.elem("xades:Identifier", "urn:oid:"+f.oid, "Qualifier", "OIDAsURN")
			w.end("xades:ObjectIdentifier")
		}
		w.elem("xades:MimeType", f.mime)
		if f.encoding != "" {
			w.elem("xades:Encoding", f.encoding)
		}
		w.end("xades:DataObjectFormat")
	}
	for _, c := range o.commits {
		w.start("xades:CommitmentTypeIndication")
		w.start("xades:CommitmentTypeId")
		w.elem("xades:Identifier", "urn:oid:"+c.id, "Qualifier", "OIDAsURN")
		if c.description != "" {
			w.elem("xades:Description", c.description)
		}
		if len(c.docRefs) > 0 {
			w.start("xades:DocumentationReferences")
			for _, d := range c.docRefs {
				w.elem("xades:DocumentationReference", d)
			}
			w.end("xades:DocumentationReferences")
		}
		w.end("xades:CommitmentTypeId")
		w.empty("xades:AllSignedDataObjects")
		if len(c.qualifiers) > 0 {
			w.start("xades:CommitmentTypeQualifiers")
			for _, q := range c.qualifiers {
				w.elem("xades:CommitmentTypeQualifier", q)
			}
			w.end("xades:CommitmentTypeQualifiers")
		}
		w.end("xades:CommitmentTypeIndication")
	}
	w.end("xades:SignedDataObjectProperties")
}

// rawECDSA converts a DER ECDSA signature to the XML-DSig r‖s form, each integer left-padded
// to the curve size (not to the longer of the two, as the reference does).
func rawECDSA(der []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) > 0 || sig.R == nil || sig.S == nil || sig.R.Sign() <= 0 || sig.S.Sign() <= 0 {
		return nil, fmt.Errorf("%w: PK1 is not a DER ECDSA signature", trifirma.ErrBadSignatureValue)
	}
	size := (pub.Curve.Params().BitSize + 7) / 8
	if sig.R.BitLen() > 8*size || sig.S.BitLen() > 8*size {
		return nil, fmt.Errorf("%w: ECDSA signature values exceed the curve size", trifirma.ErrBadSignatureValue)
	}
	out := make([]byte, 2*size)
	sig.R.FillBytes(out[:size])
	sig.S.FillBytes(out[size:])
	return out, nil
}
