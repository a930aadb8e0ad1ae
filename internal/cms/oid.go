package cms

import (
	"crypto"
	"encoding/asn1"
	"fmt"
)

// Object identifiers of CMS (RFC 5652), ESS (RFC 2634, 5035), CAdES (ETSI EN 319 122-1,
// RFC 5126) and the algorithms the triphase protocol uses.
var (
	OIDData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDTSTInfo    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}

	OIDAttrContentType      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDAttrMessageDigest    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDAttrSigningTime      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	OIDAttrCounterSignature = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 6}

	OIDAttrContentHint          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 4}
	OIDAttrSigningCertificate   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	OIDAttrTimeStampToken       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	OIDAttrSigPolicyID          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 15}
	OIDAttrCommitmentType       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 16}
	OIDAttrSignerLocation       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 17}
	OIDAttrSignerAttr           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 18}
	OIDAttrSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	OIDAttrSignerAttrV2         = asn1.ObjectIdentifier{0, 4, 0, 19122, 1, 1}
	OIDAttrMimeType             = asn1.ObjectIdentifier{0, 4, 0, 1733, 2, 1}

	// Long-term attributes (CAdES-C/X/XL/A, EN 319 122-2 LTA): their presence makes a signature
	// "LTS" for the allowSignLTSignature rule.
	OIDAttrCompleteCertRefs       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 21}
	OIDAttrCompleteRevocationRefs = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 22}
	OIDAttrCertValues             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 23}
	OIDAttrRevocationValues       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 24}
	OIDAttrEscTimeStamp           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 25}
	OIDAttrCertCRLTimestamp       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 26}
	OIDAttrArchiveTimestamp       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 27}
	OIDAttrArchiveTimestampV2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 48}
	OIDAttrArchiveTimestampV3     = asn1.ObjectIdentifier{0, 4, 0, 1733, 2, 4}
	OIDAttrATSHashIndex           = asn1.ObjectIdentifier{0, 4, 0, 1733, 2, 5}
	OIDAttrATSHashIndexV3         = asn1.ObjectIdentifier{0, 4, 0, 19122, 1, 5}

	OIDSPQETSURI         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 5, 1}
	OIDCommitmentTypeArc = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 6}
	OIDAtRole            = asn1.ObjectIdentifier{2, 5, 4, 72}
	OIDCertPolicies      = asn1.ObjectIdentifier{2, 5, 29, 32}

	OIDSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	OIDSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	OIDRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	OIDSHA1WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	OIDSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	OIDSHA384WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	OIDSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	OIDECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	OIDECDSAWithSHA1 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	OIDECDSAWithSHA2 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3} // arc of .2 (256) .3 (384) .4 (512)
)

// LTSAttributes are the unsigned attributes that mark a long-term (archive) signature.
var LTSAttributes = []asn1.ObjectIdentifier{
	OIDAttrCompleteCertRefs, OIDAttrCompleteRevocationRefs, OIDAttrCertValues,
	OIDAttrRevocationValues, OIDAttrEscTimeStamp, OIDAttrCertCRLTimestamp,
	OIDAttrArchiveTimestamp, OIDAttrArchiveTimestampV2, OIDAttrArchiveTimestampV3,
	OIDAttrATSHashIndex, OIDAttrATSHashIndexV3,
}

// DigestOID returns the OID of a digest.
func DigestOID(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	switch h {
	case crypto.SHA1:
		return OIDSHA1, nil
	case crypto.SHA256:
		return OIDSHA256, nil
	case crypto.SHA384:
		return OIDSHA384, nil
	case crypto.SHA512:
		return OIDSHA512, nil
	}
	return nil, fmt.Errorf("cms: unsupported digest %v", h)
}

// HashFromOID maps a digest OID to its hash (0 when unknown).
func HashFromOID(oid asn1.ObjectIdentifier) crypto.Hash {
	switch {
	case oid.Equal(OIDSHA1):
		return crypto.SHA1
	case oid.Equal(OIDSHA256):
		return crypto.SHA256
	case oid.Equal(OIDSHA384):
		return crypto.SHA384
	case oid.Equal(OIDSHA512):
		return crypto.SHA512
	}
	return 0
}

// DigestAlgorithm returns the DER AlgorithmIdentifier of a digest: SHA-1 with NULL parameters
// (as every CMS producer writes it), SHA-2 with absent parameters (RFC 5754 section 2).
func DigestAlgorithm(h crypto.Hash) ([]byte, error) {
	oid, err := DigestOID(h)
	if err != nil {
		return nil, err
	}
	if h == crypto.SHA1 {
		return Seq(OIDElem(oid), Null()).Bytes(), nil
	}
	return Seq(OIDElem(oid)).Bytes(), nil
}

// SignatureAlgorithm returns the DER AlgorithmIdentifier placed in SignerInfo.signatureAlgorithm:
// rsaEncryption with NULL parameters for RSA (RFC 3370 section 3.2; the digest is named by
// SignerInfo.digestAlgorithm) and ecdsa-with-SHA* with absent parameters for ECDSA (RFC 5758
// section 3.2).
func SignatureAlgorithm(h crypto.Hash, ecdsa bool) ([]byte, error) {
	if !ecdsa {
		if _, err := DigestOID(h); err != nil {
			return nil, err
		}
		return Seq(OIDElem(OIDRSAEncryption), Null()).Bytes(), nil
	}
	var oid asn1.ObjectIdentifier
	switch h {
	case crypto.SHA1:
		oid = OIDECDSAWithSHA1
	case crypto.SHA256:
		oid = append(asn1.ObjectIdentifier{}, append(OIDECDSAWithSHA2, 2)...)
	case crypto.SHA384:
		oid = append(asn1.ObjectIdentifier{}, append(OIDECDSAWithSHA2, 3)...)
	case crypto.SHA512:
		oid = append(asn1.ObjectIdentifier{}, append(OIDECDSAWithSHA2, 4)...)
	default:
		return nil, fmt.Errorf("cms: unsupported digest %v", h)
	}
	return Seq(OIDElem(oid)).Bytes(), nil
}

// OIDElem returns the DER OBJECT IDENTIFIER element of oid.
func OIDElem(oid asn1.ObjectIdentifier) *Elem {
	b, ok := appendOID(make([]byte, 0, 2+len(oid)*2), oid)
	if !ok {
		// Only malformed identifiers (first arc > 2, fewer than two arcs) fail; callers pass
		// constants or identifiers parsed from DER.
		return Raw([]byte{TagOID, 0})
	}
	return Raw(b)
}

// AppendOID appends the DER OBJECT IDENTIFIER element of oid (tag, length, contents) to b, as
// asn1.Marshal would encode it, without reflection; ok is false (and b unchanged) for a
// malformed identifier.
func AppendOID(b []byte, oid asn1.ObjectIdentifier) ([]byte, bool) { return appendOID(b, oid) }

func appendOID(b []byte, oid asn1.ObjectIdentifier) ([]byte, bool) {
	if len(oid) < 2 || oid[0] < 0 || oid[0] > 2 || oid[1] < 0 || (oid[0] < 2 && oid[1] >= 40) {
		return b, false
	}
	start := len(b)
	b = append(b, TagOID, 0)
	b = appendBase128(b, oid[0]*40+oid[1])
	for _, arc := range oid[2:] {
		if arc < 0 {
			return b[:start], false
		}
		b = appendBase128(b, arc)
	}
	n := len(b) - start - 2
	if n > 127 {
		return b[:start], false
	}
	b[start+1] = byte(n)
	return b, true
}

// appendBase128 appends v in base 128, most significant group first, high bit set on all but
// the last byte.
func appendBase128(b []byte, v int) []byte {
	var tmp [10]byte
	i := len(tmp) - 1
	tmp[i] = byte(v & 0x7f)
	for v >>= 7; v > 0; v >>= 7 {
		i--
		tmp[i] = byte(v&0x7f) | 0x80
	}
	return append(b, tmp[i:]...)
}

// Null returns the DER NULL element.
func Null() *Elem { return Raw([]byte{TagNull, 0}) }

// OctetString returns a primitive OCTET STRING referencing b.
func OctetString(b []byte) *Elem { return Prim(TagOctetString, b) }

// UTF8 returns a UTF8String.
func UTF8(s string) *Elem { return Prim(TagUTF8String, []byte(s)) }
