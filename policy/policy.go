// Package policy handles signature policies (EPES): the explicit policy extra parameters
// (policyIdentifier, policyIdentifierHash, policyIdentifierHashAlgorithm, policyQualifier,
// policyDescription), the Spanish AGE presets selected with expPolicy=FirmaAGE|FirmaAGE18
// ([Expand]) and the FacturaE policies of the XAdES FacturaE format.
//
// Unlike the reference, this package never downloads a policy document to hash it: a policy
// without policyIdentifierHash is an error (the reference's download is a server-side request to
// a client-chosen URL).
//
// Engines call [Expand] at the start of both Presign and Postsign (it is idempotent: expPolicy is
// removed once expanded), then [FromParams] to read the explicit policy.
package policy

import (
	"crypto"
	"encoding/asn1"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/trifirma/trifirma"
)

// Extra parameter names.
const (
	ParamExpPolicy           = "expPolicy"
	ParamIdentifier          = "policyIdentifier"
	ParamHash                = "policyIdentifierHash"
	ParamHashAlgorithm       = "policyIdentifierHashAlgorithm"
	ParamQualifier           = "policyQualifier"
	ParamDescription         = "policyDescription"
	ParamAvoidAGEIncompatibs = "avoidAGEPolicyIncompatibilities"
)

// Policy is an explicit signature policy.
type Policy struct {
	// Identifier is the policy identifier as given, e.g. "urn:oid:2.16.724.1.3.1.1.2.1.9" or,
	// for XAdES, a URL.
	Identifier string
	// OID is the identifier as an object identifier ("urn:oid:" stripped), nil when the
	// identifier is not an OID.
	OID asn1.ObjectIdentifier
	// Hash is the digest of the policy document, computed with HashAlgorithm.
	Hash          []byte
	HashAlgorithm crypto.Hash
	// HashAlgorithmName is policyIdentifierHashAlgorithm as given (a name, OID or URI).
	HashAlgorithmName string
	// Qualifier is the policy document URL (SPURI), optional.
	Qualifier string
	// Description is the XAdES policy description, optional.
	Description string
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{trifirma.ErrInvalidParams}, a...)...)
}

// ParseOID parses a dotted object identifier, with or without the "urn:oid:" prefix, checking
// that it can be DER-encoded.
func ParseOID(s string) (asn1.ObjectIdentifier, error) {
	t := strings.TrimSpace(s)
	if len(t) >= 8 && strings.EqualFold(t[:8], "urn:oid:") {
		t = t[8:]
	}
	parts := strings.Split(t, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("%q is not an object identifier", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		if p == "" || strings.TrimLeft(p, "0123456789") != "" || (len(p) > 1 && p[0] == '0') {
			return nil, fmt.Errorf("%q is not an object identifier", s)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not an object identifier", s)
		}
		oid[i] = n
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, fmt.Errorf("%q is not an object identifier", s)
	}
	if _, err := asn1.Marshal(oid); err != nil {
		return nil, fmt.Errorf("%q is not an object identifier", s)
	}
	return oid, nil
}

// FromParams reads the explicit policy parameters. It returns nil when policyIdentifier is
// absent. A policy without hash (or with the reference's "0" placeholder, which made it download
// the document) is refused, as are a hash that is not Base64 or not of the algorithm's size, a
// missing or unknown hash algorithm and a qualifier that is not an absolute URL. Errors wrap
// [trifirma.ErrInvalidParams].
func FromParams(p trifirma.Params) (*Policy, error) {
	id := strings.TrimSpace(p[ParamIdentifier])
	if id == "" {
		return nil, nil
	}
	pol := &Policy{Identifier: id, Description: p[ParamDescription]}
	if oid, err := ParseOID(id); err == nil {
		pol.OID = oid
	}
	h := strings.TrimSpace(p[ParamHash])
	if h == "" || h == "0" {
		return nil, invalid("signature policy %q has no %s; this server never downloads policy documents, so the policy hash must be given", id, ParamHash)
	}
	hv, err := trifirma.DecodeBase64(h)
	if err != nil || len(hv) == 0 {
		return nil, invalid("%s is not Base64", ParamHash)
	}
	algName := strings.TrimSpace(p[ParamHashAlgorithm])
	if algName == "" {
		return nil, invalid("%s is required with %s", ParamHashAlgorithm, ParamHash)
	}
	alg, err := trifirma.ParseDigest(algName)
	if err != nil {
		return nil, invalid("%s=%q: %v", ParamHashAlgorithm, algName, err)
	}
	if len(hv) != alg.Size() {
		return nil, invalid("%s has %d bytes, a %s digest has %d", ParamHash, len(hv), trifirma.DigestName(alg), alg.Size())
	}
	pol.Hash, pol.HashAlgorithm, pol.HashAlgorithmName = hv, alg, algName
	if q := strings.TrimSpace(p[ParamQualifier]); q != "" {
		u, err := url.Parse(q)
		if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
			return nil, invalid("%s=%q is not an absolute URL", ParamQualifier, q)
		}
		pol.Qualifier = q
	}
	return pol, nil
}

// IsAGE reports whether identifier is the identifier of one of the AGE policies.
func IsAGE(identifier string) bool {
	oid, err := ParseOID(identifier)
	if err != nil {
		return false
	}
	for _, pr := range agePresets {
		if o, _ := ParseOID(pr.identifier); o.Equal(oid) {
			return true
		}
	}
	return false
}
