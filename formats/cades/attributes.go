package cades

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/cms"
	"github.com/trifirma/trifirma/policy"
)

// Attribute is a CMS attribute: its type and the DER of each of its values.
type Attribute = cms.Attribute

// Profile selects which attributes [SignedAttributes] writes.
type Profile int

const (
	// ProfileCAdES is a signature or co-signature: content-type, message-digest,
	// signing-certificate(-v2), signature-policy-identifier, content-hints,
	// commitment-type-indication, signer-location, signer attributes, signing-time, mime-type.
	ProfileCAdES Profile = iota
	// ProfileCounterSignature is a countersignature: as ProfileCAdES without content-type
	// (RFC 5652 section 11.4).
	ProfileCounterSignature
	// ProfilePAdES is the CMS embedded in a PDF signature (ETSI EN 319 142-1): content-type,
	// message-digest, signing-certificate-v2 (v1 with SHA-1), policy, commitments and roles;
	// never signing-time, content-hints, signer-location or mime-type (the PDF dictionary
	// carries time and location).
	ProfilePAdES
)

// ContentHint is the content-hints attribute (RFC 2634 section 2.9).
type ContentHint struct {
	ContentType asn1.ObjectIdentifier
	Description string // omitted when empty
}

// Commitment is one commitment-type-indication (ETSI EN 319 122-1 section 5.2.3).
type Commitment struct {
	Type       asn1.ObjectIdentifier
	Qualifiers []asn1.ObjectIdentifier
}

// Location is the signer-location attribute.
type Location struct {
	Country, Locality, PostalCode string
}

// AttributeOptions are the inputs of [SignedAttributes]. [OptionsFromParams] fills everything
// that comes from extra parameters; the caller sets Hash, MessageDigest, Signer and (for CAdES)
// SigningTime.
type AttributeOptions struct {
	Profile Profile
	// Hash is the digest algorithm of the signature: of MessageDigest and of the ESS
	// certificate identifier.
	Hash          crypto.Hash
	MessageDigest []byte
	// ContentType is the value of content-type (the eContentType); nil means id-data. Not
	// written for countersignatures.
	ContentType asn1.ObjectIdentifier
	Signer      *x509.Certificate
	// SigningTime is written as signing-time unless zero; ignored by ProfilePAdES.
	SigningTime time.Time
	// SigningCertificateV2 writes signing-certificate-v2 also with SHA-1 (otherwise SHA-1 uses
	// the v1 attribute).
	SigningCertificateV2 bool
	// OmitCertificatePolicies leaves the signer certificate's policies out of the
	// signing-certificate attribute (doNotIncludePolicyOnSigningCertificate).
	OmitCertificatePolicies bool
	Policy                  *policy.Policy
	ContentHint             *ContentHint // ignored by ProfilePAdES
	Commitments             []Commitment
	Location                *Location // ignored by ProfilePAdES
	ClaimedRoles            []string
	// Baseline writes roles as signer-attributes-v2 (EN 319 122-1) instead of signerAttr.
	Baseline bool
	// MimeType adds id-aa-ets-mimeType when not empty; ignored by ProfilePAdES.
	MimeType string
}

// Extra parameter names read by [OptionsFromParams] and the engine.
const (
	ParamMode                      = "mode"
	ParamSignatureID               = "SignatureId"
	ParamTarget                    = "target"
	ParamProfile                   = "profile"
	ParamSigningCertificateV2      = "signingCertificateV2"
	ParamNoPolicyOnSigningCert     = "doNotIncludePolicyOnSigningCertificate"
	ParamOnlySigningCertificate    = "includeOnlySignningCertificate"
	ParamIncludeSigningTime        = "includeSigningTimeAttribute"
	ParamIncludeContentHint        = "includeContentHintAttribute"
	ParamContentTypeOID            = "contentTypeOid"
	ParamContentDescription        = "contentDescription"
	ParamMimeType                  = "mimeType"
	ParamIncludeMimeType           = "includeMimeTypeAttribute"
	ParamPrecalculatedHash         = "precalculatedHashAlgorithm"
	ParamClaimedRoles              = "signerClaimedRoles"
	ParamProductionCity            = "signatureProductionCity"
	ParamProductionPostalCode      = "signatureProductionPostalCode"
	ParamProductionCountry         = "signatureProductionCountry"
	ParamCommitmentTypeIndications = "commitmentTypeIndications"
	ParamAllowSignLTS              = "allowSignLTSignature"
	ParamCheckSignatures           = "checkSignatures"
)

// MaxCommitments bounds commitmentTypeIndications.
const MaxCommitments = 32

func invalidParams(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{trifirma.ErrInvalidParams}, a...)...)
}

// OptionsFromParams reads the attribute-related extra parameters of §5.1 (policy, content
// hints, roles, location, commitments, signing-certificate options, mime type) for profile.
// Policy keys must already be expanded ([policy.Expand]). Errors wrap
// [trifirma.ErrInvalidParams].
//
// Commitments are read from commitmentTypeIndication0… up to commitmentTypeIndications-1 (the
// reference also reads index N, an off-by-one); identifiers 1–6 are the ETSI commitment types
// (proof of origin, receipt, delivery, sender, approval, creation), anything else must be an OID;
// qualifiers are '|'-separated OIDs.
func OptionsFromParams(p trifirma.Params, profile Profile) (*AttributeOptions, error) {
	o := &AttributeOptions{
		Profile:                 profile,
		SigningCertificateV2:    p.Bool(ParamSigningCertificateV2, false),
		OmitCertificatePolicies: p.Bool(ParamNoPolicyOnSigningCert, false),
		Baseline:                strings.EqualFold(strings.TrimSpace(p[ParamProfile]), "baseline"),
	}
	pol, err := policy.FromParams(p)
	if err != nil {
		return nil, err
	}
	if pol != nil && pol.OID == nil {
		return nil, invalidParams("policyIdentifier %q is not an OID (CAdES and PAdES policies are identified by OID)", pol.Identifier)
	}
	o.Policy = pol
	if profile != ProfilePAdES {
		if p.Bool(ParamIncludeContentHint, true) {
			switch {
			case profile == ProfileCounterSignature && o.Baseline:
			case profile == ProfileCounterSignature:
				o.ContentHint = &ContentHint{ContentType: cms.OIDData}
			default:
				ch := &ContentHint{ContentType: cms.OIDData, Description: "binary"}
				if v := strings.TrimSpace(p[ParamContentTypeOID]); v != "" {
					oid, err := policy.ParseOID(v)
					if err != nil {
						return nil, invalidParams("%s: %v", ParamContentTypeOID, err)
					}
					ch.ContentType = oid
				}
				if v, ok := p[ParamContentDescription]; ok && strings.TrimSpace(v) != "" {
					ch.Description = v
				}
				o.ContentHint = ch
			}
		}
		city, pc, country := strings.TrimSpace(p[ParamProductionCity]), strings.TrimSpace(p[ParamProductionPostalCode]), strings.TrimSpace(p[ParamProductionCountry])
		if city != "" || pc != "" || country != "" {
			o.Location = &Location{Country: country, Locality: city, PostalCode: pc}
		}
		if p.Bool(ParamIncludeMimeType, false) {
			o.MimeType = strings.TrimSpace(p[ParamMimeType])
			if o.MimeType == "" {
				o.MimeType = "application/octet-stream"
			}
		}
	}
	if v := p[ParamClaimedRoles]; strings.TrimSpace(v) != "" {
		for r := range strings.SplitSeq(v, "|") {
			if r = strings.TrimSpace(r); r != "" {
				o.ClaimedRoles = append(o.ClaimedRoles, r)
			}
		}
	}
	n, err := p.Int(ParamCommitmentTypeIndications, 0)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > MaxCommitments {
		return nil, invalidParams("%s=%d is outside 0..%d", ParamCommitmentTypeIndications, n, MaxCommitments)
	}
	for i := range n {
		key := fmt.Sprintf("commitmentTypeIndication%dIdentifier", i)
		id := strings.TrimSpace(p[key])
		if id == "" {
			continue
		}
		var c Commitment
		if len(id) == 1 && id[0] >= '1' && id[0] <= '6' {
			c.Type = append(append(asn1.ObjectIdentifier{}, cms.OIDCommitmentTypeArc...), int(id[0]-'0'))
		} else if c.Type, err = policy.ParseOID(id); err != nil {
			return nil, invalidParams("%s: %v", key, err)
		}
		qkey := fmt.Sprintf("commitmentTypeIndication%dCommitmentTypeQualifiers", i)
		for q := range strings.SplitSeq(p[qkey], "|") {
			if q = strings.TrimSpace(q); q == "" {
				continue
			}
			oid, err := policy.ParseOID(q)
			if err != nil {
				return nil, invalidParams("%s: %v (CAdES qualifiers are OIDs)", qkey, err)
			}
			c.Qualifiers = append(c.Qualifiers, oid)
		}
		o.Commitments = append(o.Commitments, c)
	}
	return o, nil
}

func attr(t asn1.ObjectIdentifier, values ...*cms.Elem) []byte {
	if len(values) == 1 {
		// SEQUENCE { type, SET { value } } written straight into one buffer.
		var ob [48]byte
		oid, ok := cms.AppendOID(ob[:0], t)
		if ok {
			v := values[0]
			vl := v.Len()
			var hb [8]byte
			content := len(oid) + len(cms.AppendHeader(hb[:0], cms.TagSet, vl)) + vl
			out := make([]byte, 0, len(cms.AppendHeader(hb[:0], cms.TagSequence, content))+content)
			out = cms.AppendHeader(out, cms.TagSequence, content)
			out = append(out, oid...)
			out = cms.AppendHeader(out, cms.TagSet, vl)
			return v.AppendTo(out)
		}
	}
	vals := make([][]byte, len(values))
	for i, v := range values {
		vals[i] = v.Bytes()
	}
	return cms.Seq(cms.OIDElem(t), cms.SetOf(cms.TagSet, vals, false)).Bytes()
}

func supportedHash(h crypto.Hash) bool {
	switch h {
	case crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512:
		return true
	}
	return false
}

// SignedAttributes returns the DER SET OF signed attributes (with the SET identifier 0x31: the
// exact bytes a signer signs, the PRE of a triphase session) for o. Attributes are sorted as DER
// requires. Errors wrap [trifirma.ErrInvalidParams] or [trifirma.ErrInvalidCertificate].
func SignedAttributes(o *AttributeOptions) ([]byte, error) {
	if !supportedHash(o.Hash) {
		return nil, fmt.Errorf("%w: digest %v", trifirma.ErrUnsupportedAlgorithm, o.Hash)
	}
	if len(o.MessageDigest) != o.Hash.Size() {
		return nil, fmt.Errorf("%w: message digest of %d bytes for %s", trifirma.ErrInvalidParams, len(o.MessageDigest), trifirma.DigestName(o.Hash))
	}
	if o.Signer == nil {
		return nil, fmt.Errorf("%w: no signer certificate", trifirma.ErrInvalidCertificate)
	}
	var attrs [][]byte
	if o.Profile != ProfileCounterSignature {
		ct := o.ContentType
		if ct == nil {
			ct = cms.OIDData
		}
		attrs = append(attrs, attr(cms.OIDAttrContentType, cms.OIDElem(ct)))
	}
	attrs = append(attrs, attr(cms.OIDAttrMessageDigest, cms.OctetString(o.MessageDigest)))
	sc, err := signingCertificate(o)
	if err != nil {
		return nil, err
	}
	attrs = append(attrs, sc)
	if o.Policy != nil {
		a, err := policyAttribute(o.Policy)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, a)
	}
	pades := o.Profile == ProfilePAdES
	if o.ContentHint != nil && !pades {
		ct := o.ContentHint.ContentType
		if ct == nil {
			ct = cms.OIDData
		}
		var desc *cms.Elem
		if o.ContentHint.Description != "" {
			desc = cms.UTF8(o.ContentHint.Description)
		}
		attrs = append(attrs, attr(cms.OIDAttrContentHint, cms.Seq(desc, cms.OIDElem(ct))))
	}
	if len(o.Commitments) > 0 {
		// One attribute with a value per indication (the reference writes one attribute per
		// indication; validators flag repeated attribute types).
		vals := make([]*cms.Elem, len(o.Commitments))
		for i, c := range o.Commitments {
			var quals *cms.Elem
			if len(c.Qualifiers) > 0 {
				q := make([]*cms.Elem, len(c.Qualifiers))
				for j, oid := range c.Qualifiers {
					q[j] = cms.Seq(cms.OIDElem(oid))
				}
				quals = cms.Seq(q...)
			}
			vals[i] = cms.Seq(cms.OIDElem(c.Type), quals)
		}
		attrs = append(attrs, attr(cms.OIDAttrCommitmentType, vals...))
	}
	if o.Location != nil && !pades {
		l := o.Location
		var country, locality, postal *cms.Elem
		if l.Country != "" {
			country = cms.Cons(cms.TagContext0, cms.UTF8(l.Country))
		}
		if l.Locality != "" {
			locality = cms.Cons(cms.TagContext1, cms.UTF8(l.Locality))
		}
		if l.PostalCode != "" {
			postal = cms.Cons(cms.TagContext2, cms.Seq(cms.UTF8(l.PostalCode)))
		}
		attrs = append(attrs, attr(cms.OIDAttrSignerLocation, cms.Seq(country, locality, postal)))
	}
	if len(o.ClaimedRoles) > 0 {
		roles := make([]*cms.Elem, len(o.ClaimedRoles))
		for i, r := range o.ClaimedRoles {
			roles[i] = cms.Seq(cms.OIDElem(cms.OIDAtRole), cms.Cons(cms.TagSet, cms.UTF8(r)))
		}
		t := cms.OIDAttrSignerAttr
		if o.Baseline {
			t = cms.OIDAttrSignerAttrV2
		}
		attrs = append(attrs, attr(t, cms.Seq(cms.Cons(cms.TagContext0, cms.Seq(roles...)))))
	}
	if !o.SigningTime.IsZero() && !pades {
		attrs = append(attrs, attr(cms.OIDAttrSigningTime, timeElem(o.SigningTime)))
	}
	if o.MimeType != "" && !pades {
		attrs = append(attrs, attr(cms.OIDAttrMimeType, cms.UTF8(o.MimeType)))
	}
	// DER SET OF: the members sorted by their encodings (X.690 11.6), in one buffer.
	slices.SortFunc(attrs, bytes.Compare)
	n := 0
	for _, a := range attrs {
		n += len(a)
	}
	out := cms.AppendHeader(make([]byte, 0, n+6), cms.TagSet, n)
	for _, a := range attrs {
		out = append(out, a...)
	}
	return out, nil
}

// timeElem encodes t as UTCTime for 1950–2049 and GeneralizedTime otherwise (RFC 5652
// section 11.3).
func timeElem(t time.Time) *cms.Elem {
	t = t.UTC().Truncate(time.Second)
	if y := t.Year(); y >= 1950 && y < 2050 {
		return cms.Prim(cms.TagUTCTime, []byte(t.Format("060102150405Z")))
	}
	return cms.Prim(cms.TagGenTime, []byte(t.Format("20060102150405Z")))
}

func signingCertificate(o *AttributeOptions) ([]byte, error) {
	cert := o.Signer
	issuerSerial := cms.Seq(
		cms.Seq(cms.Cons(cms.TagContext4, cms.Raw(cert.RawIssuer))),
		cms.Raw(mustInt(cert)),
	)
	var policies *cms.Elem
	if !o.OmitCertificatePolicies {
		for _, ext := range cert.Extensions {
			if ext.Id.Equal(cms.OIDCertPolicies) {
				policies = cms.Raw(ext.Value)
			}
		}
	}
	if o.Hash == crypto.SHA1 && !o.SigningCertificateV2 {
		d := crypto.SHA1.New()
		d.Write(cert.Raw)
		id := cms.Seq(cms.OctetString(d.Sum(nil)), issuerSerial)
		return attr(cms.OIDAttrSigningCertificate, cms.Seq(cms.Seq(id), policies)), nil
	}
	d := o.Hash.New()
	d.Write(cert.Raw)
	var alg *cms.Elem
	if o.Hash != crypto.SHA256 { // DEFAULT id-sha256 is omitted in DER
		der, err := cms.DigestAlgorithm(o.Hash)
		if err != nil {
			return nil, err
		}
		alg = cms.Raw(der)
	}
	id := cms.Seq(alg, cms.OctetString(d.Sum(nil)), issuerSerial)
	return attr(cms.OIDAttrSigningCertificateV2, cms.Seq(cms.Seq(id), policies)), nil
}

func mustInt(cert *x509.Certificate) []byte {
	b, err := asn1.Marshal(cert.SerialNumber)
	if err != nil {
		return []byte{cms.TagInteger, 1, 0}
	}
	return b
}

func policyAttribute(pol *policy.Policy) ([]byte, error) {
	alg, err := cms.DigestAlgorithm(pol.HashAlgorithm)
	if err != nil {
		return nil, invalidParams("policy hash algorithm: %v", err)
	}
	var quals *cms.Elem
	if pol.Qualifier != "" {
		for i := 0; i < len(pol.Qualifier); i++ {
			if pol.Qualifier[i] >= 0x80 {
				return nil, invalidParams("policyQualifier must be ASCII (an IA5String URL)")
			}
		}
		quals = cms.Seq(cms.Seq(cms.OIDElem(cms.OIDSPQETSURI), cms.Prim(cms.TagIA5String, []byte(pol.Qualifier))))
	}
	return attr(cms.OIDAttrSigPolicyID, cms.Seq(
		cms.OIDElem(pol.OID),
		cms.Seq(cms.Raw(alg), cms.OctetString(pol.Hash)),
		quals,
	)), nil
}

// singleInstance are the attributes RFC 5652 section 11 allows once.
var singleInstance = []asn1.ObjectIdentifier{cms.OIDAttrContentType, cms.OIDAttrMessageDigest, cms.OIDAttrSigningTime}

// ParseSignedAttributes parses a DER SET OF signed attributes (a PRE value) strictly: it must be
// a definite-length DER SET whose members are in DER order, with at most one content-type,
// message-digest and signing-time (each with one value), no counterSignature, and exactly one
// message-digest. Errors wrap [trifirma.ErrInvalidSession].
func ParseSignedAttributes(der []byte) ([]Attribute, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: signed attributes (PRE): "+format, append([]any{trifirma.ErrInvalidSession}, a...)...)
	}
	if len(der) == 0 || der[0] != cms.TagSet {
		return nil, bad("not a SET")
	}
	s := cryptobyte.String(der)
	var set cryptobyte.String
	if !s.ReadASN1(&set, cbasn1.SET) || !s.Empty() {
		return nil, bad("not a single DER SET")
	}
	attrs, err := cms.ParseAttributes(der)
	if err != nil {
		return nil, bad("%v", err)
	}
	if len(attrs) == 0 {
		return nil, bad("empty set")
	}
	for i, a := range attrs {
		if i > 0 && bytes.Compare(attrs[i-1].Raw, a.Raw) > 0 {
			return nil, bad("attributes are not in DER order")
		}
		if len(a.Values) == 0 {
			return nil, bad("attribute %v has no value", a.Type)
		}
		if a.Type.Equal(cms.OIDAttrCounterSignature) {
			return nil, bad("counterSignature is not a signed attribute")
		}
		for i := 1; i < len(a.Values); i++ {
			if bytes.Compare(a.Values[i-1], a.Values[i]) > 0 {
				return nil, bad("values of attribute %v are not in DER order", a.Type)
			}
		}
		for _, t := range singleInstance {
			if a.Type.Equal(t) && len(a.Values) != 1 {
				return nil, bad("attribute %v must have exactly one value", a.Type)
			}
		}
	}
	for _, t := range singleInstance {
		n := 0
		for _, a := range attrs {
			if a.Type.Equal(t) {
				n++
			}
		}
		if n > 1 {
			return nil, bad("attribute %v appears %d times", t, n)
		}
	}
	if _, ok := cms.MessageDigestOf(attrs); !ok {
		return nil, bad("no message-digest")
	}
	return attrs, nil
}

// checkSigningCertificate verifies that the signing-certificate(-v2) attribute of attrs
// identifies cert by hash.
func checkSigningCertificate(attrs []Attribute, cert *x509.Certificate) error {
	bad := func(msg string) error {
		return fmt.Errorf("%w: signed attributes (PRE): %s", trifirma.ErrInvalidSession, msg)
	}
	var v2 bool
	var vals [][]byte
	for _, a := range attrs {
		switch {
		case a.Type.Equal(cms.OIDAttrSigningCertificateV2):
			v2, vals = true, a.Values
		case a.Type.Equal(cms.OIDAttrSigningCertificate):
			vals = a.Values
		}
	}
	if len(vals) != 1 {
		return bad("no single signing-certificate attribute")
	}
	s := cryptobyte.String(vals[0])
	var sc, certs, id cryptobyte.String
	if !s.ReadASN1(&sc, cbasn1.SEQUENCE) || !sc.ReadASN1(&certs, cbasn1.SEQUENCE) || !certs.ReadASN1(&id, cbasn1.SEQUENCE) {
		return bad("malformed signing-certificate")
	}
	h := crypto.SHA1
	if v2 {
		h = crypto.SHA256
		if id.PeekASN1Tag(cbasn1.SEQUENCE) {
			var alg cryptobyte.String
			var oid asn1.ObjectIdentifier
			if !id.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
				return bad("malformed ESSCertIDv2 hash algorithm")
			}
			if h = cms.HashFromOID(oid); h == 0 {
				return bad("unsupported ESSCertIDv2 hash algorithm")
			}
		}
	}
	var got cryptobyte.String
	if !id.ReadASN1(&got, cbasn1.OCTET_STRING) {
		return bad("malformed certHash")
	}
	d := h.New()
	d.Write(cert.Raw)
	if !bytes.Equal(d.Sum(nil), got) {
		return bad("signing-certificate does not identify the signer certificate")
	}
	return nil
}
