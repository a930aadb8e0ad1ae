package xades

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/c14n"
	"github.com/trifirma/trifirma/policy"
)

// The variants of the extra parameter "format".
const (
	VariantEnveloping = "XAdES Enveloping"
	VariantEnveloped  = "XAdES Enveloped"
	VariantDetached   = "XAdES Detached"
	VariantExternal   = "XAdES Externally Detached"
)

// Extra parameters read by the engine.
const (
	ParamFormat               = "format"
	ParamDigestMethod         = "referencesDigestMethod"
	ParamCanonicalization     = "canonicalizationAlgorithm"
	ParamXAdESNamespace       = "xadesNamespace"
	ParamSignedPropertiesType = "signedPropertiesTypeUrl"
	ParamSigningCertV2        = "signingCertificateV2"
	ParamRoles                = "signerClaimedRoles"
	ParamCity                 = "signatureProductionCity"
	ParamStreet               = "signatureProductionStreetAddress"
	ParamProvince             = "signatureProductionProvince"
	ParamPostalCode           = "signatureProductionPostalCode"
	ParamCountry              = "signatureProductionCountry"
	ParamCommitments          = "commitmentTypeIndications"
	ParamMimeType             = "mimeType"
	ParamContentTypeOID       = "contentTypeOid"
	ParamEncoding             = "encoding"
	ParamContentDescription   = "contentDescription"
	ParamURI                  = "uri"
	ParamXPathInsert          = "insertEnvelopedSignatureOnNodeByXPath"
	ParamNodeToSign           = "nodeToSign"
	ParamAllowNoXPath         = "allowXadesEnvelopedWithoutXPath"
	ParamOnlySigningCert      = "includeOnlySignningCertificate"
	ParamKeepKeyInfoUnsigned  = "keepKeyInfoUnsigned"
	ParamKeyValue             = "addKeyInfoKeyValue"
	ParamSignatureID          = "SignatureId"
	ParamTarget               = "target"
	ParamUseManifest          = "useManifest"
)

// commitment type identifiers 1..6 of the reference (ProofOfOrigin ... ProofOfCreation).
var commitmentOIDs = map[string]string{
	"1": "1.2.840.113549.1.9.16.6.1", "2": "1.2.840.113549.1.9.16.6.2", "3": "1.2.840.113549.1.9.16.6.3",
	"4": "1.2.840.113549.1.9.16.6.4", "5": "1.2.840.113549.1.9.16.6.5", "6": "1.2.840.113549.1.9.16.6.6",
}

type commitment struct {
	id, description string
	docRefs         []string
	qualifiers      []string
}

// options is what a request's parameters mean to the engine.
type options struct {
	op         trifirma.Operation
	variant    string
	params     trifirma.Params
	alg        trifirma.SignatureAlgorithm
	chain      []*x509.Certificate
	signer     *x509.Certificate
	refDigest  crypto.Hash
	canon      c14n.Algorithm
	dataC14N   bool
	canonSet   bool // canonicalizationAlgorithm was given
	spType     string
	certV2     bool
	policy     *policy.Policy
	roles      []string
	city       string
	street     string
	province   string
	postal     string
	country    string
	commits    []commitment
	mime       string
	contentOID string
	encoding   string
	contentDes string
	uri        string
	xpath      string
	nodeToSign string
	allowNoXP  bool
	onlySigner bool
	signKI     bool
	keyValue   bool
	sigID      string
	leafs      bool
	time       time.Time
	facturae   bool
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{trifirma.ErrInvalidParams}, a...)...)
}

// ncName reports whether s can be used inside an XML Id.
func ncName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			continue
		}
		return false
	}
	return true
}

func (e *Engine) prepare(req *trifirma.Request) (*options, error) {
	if req == nil {
		return nil, invalid("nil request")
	}
	facturae := false
	switch req.Format {
	case "", trifirma.FormatXAdES:
	case trifirma.FormatFacturaE:
		facturae = true
	default:
		return nil, fmt.Errorf("%w: the XAdES engine does not produce %s", trifirma.ErrUnsupportedFormat, req.Format)
	}
	op := req.Operation
	if op == "" {
		op = trifirma.OpSign
	}
	if facturae && op != trifirma.OpSign {
		return nil, fmt.Errorf("%w: FacturaE invoices cannot be co-signed or counter-signed", trifirma.ErrUnsupportedOperation)
	}
	switch op {
	case trifirma.OpSign, trifirma.OpCoSign, trifirma.OpCounterSign:
	default:
		return nil, fmt.Errorf("%w: %q", trifirma.ErrUnsupportedOperation, op)
	}
	signer, err := req.Signer()
	if err != nil {
		return nil, err
	}
	kt, err := trifirma.KeyTypeOf(signer.PublicKey)
	if err != nil {
		return nil, err
	}
	alg := req.Algorithm
	if alg.Hash == 0 {
		alg.Hash = trifirma.DefaultAlgorithm.Hash
	}
	if alg.Key == 0 {
		alg.Key = kt
	}
	if alg.Key != kt {
		return nil, fmt.Errorf("%w: %s with a %s certificate", trifirma.ErrUnsupportedAlgorithm, alg, kt)
	}
	if _, err := signatureURI(alg); err != nil {
		return nil, err
	}
	var p trifirma.Params
	if facturae {
		if p, err = facturaeParams(req.Params); err != nil {
			return nil, err
		}
	} else if p, err = policy.Expand(req.Params, trifirma.FormatXAdES, op, policy.DataSizeUnknown); err != nil {
		return nil, err
	}
	o := &options{op: op, params: p, alg: alg, chain: req.Chain, signer: signer, time: req.SigningTime(), facturae: facturae}
	switch v := strings.ToLower(strings.TrimSpace(p[ParamFormat])); v {
	case "", "xades enveloping", "xades", "enveloping":
		o.variant = VariantEnveloping
	case "xades enveloped", "enveloped":
		o.variant = VariantEnveloped
	case "xades detached", "detached":
		o.variant = VariantDetached
	case "xades externally detached", "externally detached":
		o.variant = VariantExternal
	default:
		return nil, invalid("%s=%q is not a XAdES variant (XAdES Enveloping, XAdES Enveloped, XAdES Detached, XAdES Externally Detached)", ParamFormat, p[ParamFormat])
	}
	o.refDigest = crypto.SHA512
	if v := strings.TrimSpace(p[ParamDigestMethod]); v != "" {
		if o.refDigest, err = trifirma.ParseDigest(v); err != nil {
			return nil, err
		}
	}
	o.canon, o.dataC14N = c14n.Algorithm{Method: c14n.Inclusive10}, true
	if v := strings.TrimSpace(p[ParamCanonicalization]); v != "" {
		o.canonSet = true
		if strings.EqualFold(v, "none") {
			o.dataC14N = false
		} else if o.canon, err = c14n.ParseAlgorithm(v); err != nil {
			return nil, invalid("%s: %v", ParamCanonicalization, err)
		}
	}
	if v := strings.TrimSpace(p[ParamXAdESNamespace]); v != "" && v != NSXAdES {
		return nil, invalid("%s=%q: only %s is produced", ParamXAdESNamespace, v, NSXAdES)
	}
	o.spType = typeSignedPr
	if v := strings.TrimSpace(p[ParamSignedPropertiesType]); v != "" {
		if v != typeSignedPr && v != typeSignedPr2 {
			return nil, invalid("%s=%q is not a SignedProperties type", ParamSignedPropertiesType, v)
		}
		o.spType = v
	}
	o.certV2 = alg.Hash != crypto.SHA1 && o.refDigest != crypto.SHA1 && !facturae
	if _, ok := p[ParamSigningCertV2]; ok && !facturae {
		o.certV2 = p.Bool(ParamSigningCertV2, o.certV2)
	}
	if o.policy, err = policy.FromParams(p); err != nil {
		return nil, err
	}
	if o.policy != nil && o.policy.Qualifier != "" && strings.Contains(o.policy.Qualifier, "====") {
		return nil, invalid("%s contains \"====\"", policy.ParamQualifier)
	}
	for _, r := range strings.Split(p[ParamRoles], "|") {
		if r = strings.TrimSpace(r); r != "" {
			o.roles = append(o.roles, r)
		}
	}
	o.city, o.street, o.province = strings.TrimSpace(p[ParamCity]), strings.TrimSpace(p[ParamStreet]), strings.TrimSpace(p[ParamProvince])
	o.postal, o.country = strings.TrimSpace(p[ParamPostalCode]), strings.TrimSpace(p[ParamCountry])
	n, err := p.Int(ParamCommitments, 0)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > 32 {
		return nil, invalid("%s=%d out of range", ParamCommitments, n)
	}
	for i := 0; i < n; i++ {
		pre := "commitmentTypeIndication" + strconv.Itoa(i)
		id := strings.TrimSpace(p[pre+"Identifier"])
		if oid, ok := commitmentOIDs[id]; ok {
			id = oid
		}
		if id == "" {
			return nil, invalid("%sIdentifier is missing", pre)
		}
		if _, err := policy.ParseOID(id); err != nil {
			return nil, invalid("%sIdentifier=%q is not 1-6 nor an OID", pre, id)
		}
		c := commitment{id: strings.TrimPrefix(id, "urn:oid:"), description: p[pre+"Description"]}
		for _, s := range strings.Split(p[pre+"DocumentationReferences"], "|") {
			if s = strings.TrimSpace(s); s != "" {
				c.docRefs = append(c.docRefs, s)
			}
		}
		for _, s := range strings.Split(p[pre+"CommitmentTypeQualifiers"], "|") {
			if s = strings.TrimSpace(s); s != "" {
				c.qualifiers = append(c.qualifiers, s)
			}
		}
		o.commits = append(o.commits, c)
	}
	o.mime, o.contentOID = strings.TrimSpace(p[ParamMimeType]), strings.TrimPrefix(strings.TrimSpace(p[ParamContentTypeOID]), "urn:oid:")
	if o.contentOID != "" {
		if _, err := policy.ParseOID(o.contentOID); err != nil {
			return nil, invalid("%s=%q is not an OID", ParamContentTypeOID, o.contentOID)
		}
	}
	o.encoding, o.contentDes = strings.TrimSpace(p[ParamEncoding]), p[ParamContentDescription]
	o.uri = strings.TrimSpace(p[ParamURI])
	o.xpath, o.nodeToSign = strings.TrimSpace(p[ParamXPathInsert]), strings.TrimSpace(p[ParamNodeToSign])
	o.allowNoXP = p.Bool(ParamAllowNoXPath, false)
	o.onlySigner = p.Bool(ParamOnlySigningCert, false)
	o.signKI = !p.Bool(ParamKeepKeyInfoUnsigned, false)
	o.keyValue = p.Bool(ParamKeyValue, kt == trifirma.KeyRSA)
	if p.Bool(ParamUseManifest, false) {
		return nil, invalid("%s is not supported", ParamUseManifest)
	}
	if v := strings.TrimSpace(p[ParamSignatureID]); v != "" {
		if !ncName(v) || len(v) > 128 {
			return nil, invalid("%s=%q must be letters, digits, '-', '_' or '.'", ParamSignatureID, v)
		}
		o.sigID = v
	}
	switch t := strings.ToLower(strings.TrimSpace(p[ParamTarget])); t {
	case "", "leafs", "leaves":
		o.leafs = true
	case "tree":
	default:
		return nil, invalid("%s=%q (tree or leafs)", ParamTarget, p[ParamTarget])
	}
	for _, k := range []string{ParamRoles, ParamCity, ParamStreet, ParamProvince, ParamPostalCode, ParamCountry, ParamContentDescription, ParamMimeType, ParamEncoding, ParamURI, policy.ParamDescription} {
		if strings.Contains(p[k], "====") {
			return nil, invalid("%s contains \"====\", reserved for the session skeleton", k)
		}
	}
	return o, nil
}

// ParamFacturaEVersion selects the FacturaE signature policy version ("3.1", the default, or
// "3.0").
const ParamFacturaEVersion = "facturaeVersion"

// facturaeParams builds the parameters of a FacturaE signature as the reference's FacturaE
// signer: XAdES Enveloped with the FacturaE policy and one claimed role (emisor by default,
// among policy.FacturaERoles); only the production place, the role, SignatureId and the
// digest/algorithm choices of the caller are kept.
func facturaeParams(in trifirma.Params) (trifirma.Params, error) {
	out := trifirma.Params{ParamFormat: VariantEnveloped}
	for _, k := range []string{ParamCity, ParamPostalCode, ParamProvince, ParamCountry, ParamSignatureID, ParamDigestMethod} {
		if v, ok := in[k]; ok {
			out[k] = v
		}
	}
	role := strings.TrimSpace(in[ParamRoles])
	if role == "" {
		role = policy.FacturaERoles[0]
	}
	ok := false
	for _, r := range policy.FacturaERoles {
		if strings.EqualFold(r, role) {
			role, ok = r, true
		}
	}
	if !ok {
		return nil, invalid("%s=%q: a FacturaE signer role is one of %s", ParamRoles, role, strings.Join(policy.FacturaERoles, ", "))
	}
	out[ParamRoles] = role
	pol, err := policy.FacturaE(in[ParamFacturaEVersion])
	if err != nil {
		return nil, err
	}
	pol.Set(out)
	return out, nil
}
