package cms

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
)

// ErrVerification reports a SignerInfo whose signature or message digest does not verify.
var ErrVerification = errors.New("cms: signature verification failed")

// SignedBytes returns the bytes a SignerInfo's signature covers: the DER of its signed
// attributes with the SET OF identifier (RFC 5652 section 5.4). It is nil when the SignerInfo
// has no signed attributes.
func (si *SignerInfo) SignedBytes() []byte {
	if si.SignedAttrsRaw == nil {
		return nil
	}
	return WithTag(si.SignedAttrsRaw, TagSet)
}

// VerifySignature checks the SignerInfo's signature over its signed attributes with cert's key
// (RSA PKCS#1 v1.5 or ECDSA, digest from digestAlgorithm). It does not check the message digest
// nor the certificate.
func (si *SignerInfo) VerifySignature(cert *x509.Certificate) error {
	h := si.DigestHash()
	if h == 0 || !h.Available() {
		return fmt.Errorf("%w: unsupported digest algorithm %v", ErrVerification, si.DigestAlgorithm.OID)
	}
	msg := si.SignedBytes()
	if msg == nil {
		return fmt.Errorf("%w: SignerInfo without signed attributes", ErrVerification)
	}
	d := h.New()
	d.Write(msg)
	sum := d.Sum(nil)
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(pub, h, sum, si.Signature); err != nil {
			return fmt.Errorf("%w: RSA signature: %v", ErrVerification, err)
		}
		return nil
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, sum, si.Signature) {
			return fmt.Errorf("%w: ECDSA signature", ErrVerification)
		}
		return nil
	}
	return fmt.Errorf("%w: unsupported key type %T", ErrVerification, cert.PublicKey)
}

// FindCertificate returns the certificate of certs the SignerInfo's sid identifies.
func (si *SignerInfo) FindCertificate(certs []*x509.Certificate) (*x509.Certificate, bool) {
	for _, c := range certs {
		if si.MatchesCert(c) {
			return c, true
		}
	}
	return nil, false
}
