package trifirma

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"

	_ "crypto/sha1" // register SHA-1 for legacy signatures
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// KeyType is the public-key algorithm half of a signature algorithm.
type KeyType int

// The key types the triphase protocol uses. RSA is always PKCS#1 v1.5.
const (
	KeyRSA KeyType = iota + 1
	KeyECDSA
)

// String returns the suffix used in Java algorithm names ("RSA", "ECDSA").
func (k KeyType) String() string {
	switch k {
	case KeyRSA:
		return "RSA"
	case KeyECDSA:
		return "ECDSA"
	}
	return fmt.Sprintf("KeyType(%d)", int(k))
}

// KeyTypeOf returns the KeyType of a public key, or an error wrapping
// [ErrUnsupportedAlgorithm].
func KeyTypeOf(pub crypto.PublicKey) (KeyType, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return KeyRSA, nil
	case *ecdsa.PublicKey:
		return KeyECDSA, nil
	case ed25519.PublicKey:
		return 0, fmt.Errorf("%w: Ed25519 keys are not used by the triphase protocol", ErrUnsupportedAlgorithm)
	}
	return 0, fmt.Errorf("%w: public key type %T", ErrUnsupportedAlgorithm, pub)
}

// SignatureAlgorithm is a digest plus a key type, e.g. SHA256withRSA.
type SignatureAlgorithm struct {
	Hash crypto.Hash
	Key  KeyType
}

// DefaultAlgorithm is what the reference uses when `algo` is absent: SHA512withRSA (recomposed
// with the certificate's key type).
var DefaultAlgorithm = SignatureAlgorithm{Hash: crypto.SHA512, Key: KeyRSA}

// String returns the Java name, e.g. "SHA256withECDSA".
func (a SignatureAlgorithm) String() string {
	return DigestName(a.Hash) + "with" + a.Key.String()
}

// DigestName returns the Java digest name without a dash ("SHA1", "SHA256", ...).
func DigestName(h crypto.Hash) string {
	switch h {
	case crypto.SHA1:
		return "SHA1"
	case crypto.SHA256:
		return "SHA256"
	case crypto.SHA384:
		return "SHA384"
	case crypto.SHA512:
		return "SHA512"
	}
	return h.String()
}

// ParseDigest maps a digest or signature-algorithm name to its hash, accepting what the
// reference's getDigestAlgorithmName accepts: SHA1, SHA-1, SHA, SHA256, SHA-256, ..., digest
// OIDs, XMLDSig digest URIs and any "<digest>with<key>" name. MD2/MD5 and unknown names wrap
// [ErrUnsupportedAlgorithm].
func ParseDigest(name string) (crypto.Hash, error) {
	n := strings.TrimSpace(name)
	if i := strings.Index(strings.ToLower(n), "with"); i > 0 {
		n = n[:i]
	}
	switch strings.ToLower(n) {
	case "sha1", "sha-1", "sha", "1.3.14.3.2.26", "http://www.w3.org/2000/09/xmldsig#sha1":
		return crypto.SHA1, nil
	case "sha256", "sha-256", "2.16.840.1.101.3.4.2.1", "http://www.w3.org/2001/04/xmlenc#sha256":
		return crypto.SHA256, nil
	case "sha384", "sha-384", "2.16.840.1.101.3.4.2.2", "http://www.w3.org/2001/04/xmldsig-more#sha384":
		return crypto.SHA384, nil
	case "sha512", "sha-512", "2.16.840.1.101.3.4.2.3", "http://www.w3.org/2001/04/xmlenc#sha512":
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, name)
}

// ComposeAlgorithm normalises the `algo` request parameter like the reference: the digest is
// taken from name (empty means SHA-512) and the key half from the signer's public key. Names
// starting with "MD" wrap [ErrUnsupportedAlgorithm] (the wire's ERR-20).
func ComposeAlgorithm(name string, pub crypto.PublicKey) (SignatureAlgorithm, error) {
	h := DefaultAlgorithm.Hash
	if strings.TrimSpace(name) != "" {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(name)), "MD") {
			return SignatureAlgorithm{}, fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, name)
		}
		var err error
		if h, err = ParseDigest(name); err != nil {
			return SignatureAlgorithm{}, err
		}
	}
	k, err := KeyTypeOf(pub)
	if err != nil {
		return SignatureAlgorithm{}, err
	}
	return SignatureAlgorithm{Hash: h, Key: k}, nil
}

// SignerOpts returns the crypto.SignerOpts a [crypto.Signer] needs to produce a value for this
// algorithm (PKCS#1 v1.5 for RSA, ASN.1 DER for ECDSA).
func (a SignatureAlgorithm) SignerOpts() crypto.SignerOpts { return a.Hash }

// Digest hashes message with the algorithm's digest.
func (a SignatureAlgorithm) Digest(message []byte) []byte {
	h := a.Hash.New()
	h.Write(message)
	return h.Sum(nil)
}

// VerifySignature checks that sig is a valid signature by cert's key over message with
// algorithm a (RSA PKCS#1 v1.5, or DER ECDSA). A mismatch wraps [ErrBadSignatureValue].
func VerifySignature(cert *x509.Certificate, a SignatureAlgorithm, message, sig []byte) error {
	if !a.Hash.Available() {
		return fmt.Errorf("%w: digest %v", ErrUnsupportedAlgorithm, a.Hash)
	}
	d := a.Digest(message)
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if a.Key != KeyRSA {
			return fmt.Errorf("%w: %s with an RSA certificate", ErrUnsupportedAlgorithm, a)
		}
		if err := rsa.VerifyPKCS1v15(pub, a.Hash, d, sig); err != nil {
			return fmt.Errorf("%w: RSA PKCS#1 v1.5 verification with the signer certificate failed", ErrBadSignatureValue)
		}
		return nil
	case *ecdsa.PublicKey:
		if a.Key != KeyECDSA {
			return fmt.Errorf("%w: %s with an EC certificate", ErrUnsupportedAlgorithm, a)
		}
		if !ecdsa.VerifyASN1(pub, d, sig) {
			return fmt.Errorf("%w: ECDSA verification with the signer certificate failed", ErrBadSignatureValue)
		}
		return nil
	}
	return fmt.Errorf("%w: public key type %T", ErrUnsupportedAlgorithm, cert.PublicKey)
}
