package cades

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/cms"
	"github.com/trifirma/trifirma/tsa"
)

// BuildSignerInfo returns the DER of a SignerInfo (version 1, issuerAndSerialNumber of signer)
// over signedAttrs (the DER SET returned by [SignedAttributes]) with the signature value sig
// made with alg, plus optional unsigned attributes (e.g. from [TimestampAttribute]).
//
// signatureAlgorithm is rsaEncryption for RSA (the value the reference writes for plain
// signatures, understood by every validator) and ecdsa-with-SHA* for ECDSA, whatever the
// operation; the reference's sha*WithRSAEncryption for co- and countersignatures is equally
// valid but would make one signature file mix both forms.
func BuildSignerInfo(signer *x509.Certificate, alg trifirma.SignatureAlgorithm, signedAttrs, sig []byte, unsigned []Attribute) ([]byte, error) {
	if signer == nil {
		return nil, fmt.Errorf("%w: no signer certificate", trifirma.ErrInvalidCertificate)
	}
	if len(signedAttrs) == 0 || signedAttrs[0] != cms.TagSet {
		return nil, fmt.Errorf("%w: signed attributes are not a DER SET", trifirma.ErrInvalidSession)
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("%w: empty signature value", trifirma.ErrBadSignatureValue)
	}
	digest, err := cms.DigestAlgorithm(alg.Hash)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", trifirma.ErrUnsupportedAlgorithm, err)
	}
	var sigAlg []byte
	switch alg.Key {
	case trifirma.KeyRSA:
		sigAlg, err = cms.SignatureAlgorithm(alg.Hash, false)
	case trifirma.KeyECDSA:
		sigAlg, err = cms.SignatureAlgorithm(alg.Hash, true)
	default:
		err = fmt.Errorf("key type %v", alg.Key)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", trifirma.ErrUnsupportedAlgorithm, err)
	}
	var ua *cms.Elem
	if len(unsigned) > 0 {
		enc := make([][]byte, len(unsigned))
		for i := range unsigned {
			enc[i] = unsigned[i].Encode()
		}
		ua = cms.SetOf(cms.TagContext1, enc, false)
	}
	return cms.Seq(
		cms.Raw([]byte{cms.TagInteger, 1, 1}),
		cms.Raw(cms.IssuerAndSerial(signer)),
		cms.Raw(digest),
		cms.Raw(cms.WithTag(signedAttrs, cms.TagContext0)),
		cms.Raw(sigAlg),
		cms.OctetString(sig),
		ua,
	).Bytes(), nil
}

// DetachedOptions are the inputs of [AssembleDetached].
type DetachedOptions struct {
	// SignedAttrs is the DER SET of signed attributes that was signed.
	SignedAttrs []byte
	// Signature is the signature value over SignedAttrs.
	Signature []byte
	Algorithm trifirma.SignatureAlgorithm
	// Chain is the signer certificate first, then its chain; all go into certificates
	// (de-duplicated).
	Chain []*x509.Certificate
	// Unsigned are unsigned attributes of the SignerInfo (e.g. a signature time-stamp).
	Unsigned []Attribute
}

// AssembleDetached returns the DER ContentInfo of a detached SignedData (no eContent, eContentType
// id-data) with one SignerInfo built by [BuildSignerInfo]. PAdES uses it for the CMS of a PDF
// signature.
func AssembleDetached(o *DetachedOptions) ([]byte, error) {
	if len(o.Chain) == 0 || o.Chain[0] == nil {
		return nil, fmt.Errorf("%w: no signer certificate", trifirma.ErrInvalidCertificate)
	}
	si, err := BuildSignerInfo(o.Chain[0], o.Algorithm, o.SignedAttrs, o.Signature, o.Unsigned)
	if err != nil {
		return nil, err
	}
	sd := cms.NewSignedData(cms.OIDData, nil, false)
	if err := sd.AddDigestAlgorithm(o.Algorithm.Hash); err != nil {
		return nil, fmt.Errorf("%w: %v", trifirma.ErrUnsupportedAlgorithm, err)
	}
	sd.AddCertificates(o.Chain...)
	sd.AddSignerInfo(si)
	return sd.Encode(), nil
}

// TimestampAttribute asks c for an RFC 3161 time-stamp over the signature value sig and returns
// it as the signature-time-stamp unsigned attribute (id-aa-signatureTimeStampToken, CAdES-T).
func TimestampAttribute(ctx context.Context, c *tsa.Client, sig []byte) (Attribute, error) {
	tok, err := c.Timestamp(ctx, sig)
	if err != nil {
		return Attribute{}, err
	}
	return Attribute{Type: cms.OIDAttrTimeStampToken, Values: [][]byte{tok.DER}}, nil
}

// digestOf hashes b with h.
func digestOf(h crypto.Hash, b []byte) []byte {
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}
