// Package pkcs12 reads the private key and certificate chain of a PKCS#12 (.p12/.pfx) key store
// as the stores of the Spanish ecosystem come: BER with indefinite lengths (Java keytool, old
// Windows exports), legacy PBES1 encryption (pbeWithSHAAnd3-KeyTripleDES-CBC,
// pbeWithSHAAnd40BitRC2-CBC, ...) as well as PBES2 (PBKDF2 + AES-CBC), a MAC with SHA-1/SHA-2
// over the PKCS#12 KDF or PBMAC1 (RFC 9579), BMPString passwords, key bags, shrouded key bags
// and certificate bags. It only decodes; it never writes key stores.
package pkcs12

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"

	"github.com/trifirma/trifirma"
)

// MaxSize is the largest key store Decode accepts. Real stores are a few kilobytes.
const MaxSize = 4 << 20

// Errors returned by Decode, to test with errors.Is. The texts of the wrapping errors say what
// exactly went wrong.
var (
	// ErrMalformed: the data is not a well-formed PKCS#12 store.
	ErrMalformed = errors.New("pkcs12: malformed key store")
	// ErrIncorrectPassword: the MAC does not verify, or (without a MAC) decryption fails.
	ErrIncorrectPassword = errors.New("pkcs12: incorrect password")
	// ErrUnsupported: an algorithm or structure this package does not implement (for example
	// public-key privacy mode). It also matches trifirma.ErrUnsupportedAlgorithm.
	ErrUnsupported = fmt.Errorf("pkcs12: unsupported algorithm or structure (%w)", trifirma.ErrUnsupportedAlgorithm)
	// ErrNoKey: the store holds no private key with a matching certificate. It also matches
	// trifirma.ErrInvalidCertificate.
	ErrNoKey = fmt.Errorf("pkcs12: no private key with a matching certificate (%w)", trifirma.ErrInvalidCertificate)
)

var (
	oidDataContentType          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEnvelopedDataContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidEncryptedDataContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}

	oidKeyBag             = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidPKCS8ShroudedKey   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidSafeContentsBag    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 6}
	oidX509CertificateBag = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
)

type pfxPDU struct {
	Version  int
	AuthSafe contentInfo
	MacData  macData `asn1:"optional"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"` // Bytes: the content's encoding
}

type digestInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Digest    []byte
}

type macData struct {
	Mac        digestInfo
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

type encryptedData struct {
	Version              int
	EncryptedContentInfo encryptedContentInfo
}

type encryptedContentInfo struct {
	ContentType                asn1.ObjectIdentifier
	ContentEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedContent           asn1.RawValue `asn1:"tag:0,optional"`
}

type safeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue     `asn1:"tag:0,explicit"` // Bytes: the bag value's encoding
	Attributes []pkcs12Attribute `asn1:"set,optional"`
}

type pkcs12Attribute struct {
	ID    asn1.ObjectIdentifier
	Value asn1.RawValue `asn1:"set"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type certBag struct {
	ID   asn1.ObjectIdentifier
	Data []byte `asn1:"tag:0,explicit"`
}

type pbmac1Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	MessageAuthScheme pkix.AlgorithmIdentifier
}

// passwords holds the password in the encodings the algorithms want.
type passwords struct {
	bmp  []byte // BMPString + 00 00, for the PKCS#12 KDF
	utf8 string // for PBKDF2 (PBES2, PBMAC1)
}

// decoder collects what the bags hold.
type decoder struct {
	pw          passwords
	macVerified bool
	keys        []crypto.Signer
	certs       []*x509.Certificate
	certErrs    []error
	bags        int
}

// maxBags bounds the number of safe bags walked (nested safeContentsBags included).
const maxBags = 4096

// Decode reads a PKCS#12 store and returns its private key and the certificate chain of that
// key, leaf first, each next certificate being the issuer of the previous one (certificates of
// the store that are not on that path are left out). When the store holds several keys, the
// first one with a matching certificate is returned. The password is the store's password
// ("" for none).
func Decode(pfx []byte, password string) (key crypto.Signer, chain []*x509.Certificate, err error) {
	if len(pfx) > MaxSize {
		return nil, nil, fmt.Errorf("%w: key store of %d bytes exceeds %d", ErrMalformed, len(pfx), MaxSize)
	}
	der, err := toDER(pfx)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var pdu pfxPDU
	if err := unmarshalExact(der, &pdu); err != nil {
		return nil, nil, fmt.Errorf("%w: PFX: %v", ErrMalformed, err)
	}
	if !pdu.AuthSafe.ContentType.Equal(oidDataContentType) {
		return nil, nil, fmt.Errorf("%w: authSafe of content type %v (public-key integrity mode)", ErrUnsupported, pdu.AuthSafe.ContentType)
	}
	var authSafe []byte
	if err := unmarshalExact(pdu.AuthSafe.Content.Bytes, &authSafe); err != nil {
		return nil, nil, fmt.Errorf("%w: authSafe content: %v", ErrMalformed, err)
	}
	d := &decoder{pw: passwords{bmp: bmpPassword(password), utf8: password}}
	if len(pdu.MacData.Mac.Algorithm.Algorithm) > 0 {
		if err := d.verifyMAC(&pdu.MacData, authSafe, password); err != nil {
			return nil, nil, err
		}
		d.macVerified = true
	}
	asDER, err := toDER(authSafe)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: AuthenticatedSafe: %v", ErrMalformed, err)
	}
	var cis []contentInfo
	if err := unmarshalExact(asDER, &cis); err != nil {
		return nil, nil, fmt.Errorf("%w: AuthenticatedSafe: %v", ErrMalformed, err)
	}
	for i, ci := range cis {
		if err := d.contentInfo(ci); err != nil {
			return nil, nil, fmt.Errorf("AuthenticatedSafe[%d]: %w", i, err)
		}
	}
	return d.result()
}

// verifyMAC checks the store's MAC over the authSafe content octets. With an empty password
// both encodings in use (BMP "" = 00 00, and no bytes at all) are tried, as OpenSSL does; the
// one that verifies is kept for decryption.
func (d *decoder) verifyMAC(m *macData, data []byte, password string) error {
	alg := m.Mac.Algorithm
	if alg.Algorithm.Equal(oidPBMAC1) {
		return d.verifyPBMAC1(m, data)
	}
	h, name := digestByOID(alg.Algorithm)
	if h == nil {
		return fmt.Errorf("%w: MAC digest algorithm %v", ErrUnsupported, alg.Algorithm)
	}
	if err := checkIterations(m.Iterations); err != nil {
		return fmt.Errorf("MAC: %w", err)
	}
	candidates := [][]byte{d.pw.bmp}
	if password == "" {
		candidates = append(candidates, nil)
	}
	for _, pw := range candidates {
		key := pkcs12KDF(h, idMAC, pw, m.MacSalt, m.Iterations, h().Size())
		if hmacEqual(h, key, data, m.Mac.Digest) {
			d.pw.bmp = pw
			return nil
		}
	}
	return fmt.Errorf("%w: the %s MAC (PKCS#12 KDF, %d iterations) does not verify", ErrIncorrectPassword, name, m.Iterations)
}

func (d *decoder) verifyPBMAC1(m *macData, data []byte) error {
	var p pbmac1Params
	if err := unmarshalExact(m.Mac.Algorithm.Parameters.FullBytes, &p); err != nil {
		return fmt.Errorf("%w: PBMAC1 parameters: %v", ErrMalformed, err)
	}
	h, name := hmacByOID(p.MessageAuthScheme.Algorithm)
	if h == nil {
		return fmt.Errorf("%w: PBMAC1 message authentication scheme %v", ErrUnsupported, p.MessageAuthScheme.Algorithm)
	}
	// RFC 9579: keyLength must be present in the PBKDF2 parameters; macSalt and iterations of
	// MacData are not used.
	key, err := pbkdf2Key(p.KeyDerivationFunc, d.pw.utf8, 0)
	if err != nil {
		return fmt.Errorf("PBMAC1: %w", err)
	}
	if !hmacEqual(h, key, data, m.Mac.Digest) {
		return fmt.Errorf("%w: the PBMAC1 %s MAC does not verify", ErrIncorrectPassword, name)
	}
	return nil
}

func hmacEqual(h func() hash.Hash, key, data, want []byte) bool {
	mac := hmac.New(h, key)
	mac.Write(data)
	return hmac.Equal(mac.Sum(nil), want)
}

func (d *decoder) contentInfo(ci contentInfo) error {
	switch {
	case ci.ContentType.Equal(oidDataContentType):
		var data []byte
		if err := unmarshalExact(ci.Content.Bytes, &data); err != nil {
			return fmt.Errorf("%w: data content: %v", ErrMalformed, err)
		}
		return d.safeContents(data, 0)
	case ci.ContentType.Equal(oidEncryptedDataContentType):
		var ed encryptedData
		if err := unmarshalExact(ci.Content.Bytes, &ed); err != nil {
			return fmt.Errorf("%w: EncryptedData: %v", ErrMalformed, err)
		}
		eci := ed.EncryptedContentInfo
		ct, err := joinImplicitOctets(eci.EncryptedContent)
		if err != nil {
			return err
		}
		plain, err := decrypt(eci.ContentEncryptionAlgorithm, d.pw, ct)
		if err != nil {
			return d.decryptError("EncryptedData", err)
		}
		err = d.safeContents(plain, 0)
		if err != nil && !d.macVerified && errors.Is(err, ErrMalformed) {
			// Without a MAC, a wrong password may decrypt to valid padding by chance.
			return fmt.Errorf("%w: EncryptedData decrypts to garbage (%v)", ErrIncorrectPassword, err)
		}
		return err
	case ci.ContentType.Equal(oidEnvelopedDataContentType):
		return fmt.Errorf("%w: EnvelopedData (public-key privacy mode)", ErrUnsupported)
	default:
		return fmt.Errorf("%w: content type %v", ErrUnsupported, ci.ContentType)
	}
}

// joinImplicitOctets returns the bytes of an [n] IMPLICIT OCTET STRING, which BER may encode
// constructed (a sequence of OCTET STRING segments; after toDER each segment is primitive).
func joinImplicitOctets(v asn1.RawValue) ([]byte, error) {
	if len(v.FullBytes) == 0 {
		return nil, fmt.Errorf("%w: EncryptedData without encryptedContent", ErrMalformed)
	}
	if !v.IsCompound {
		return v.Bytes, nil
	}
	var out []byte
	rest := v.Bytes
	for len(rest) > 0 {
		var seg []byte
		var err error
		rest, err = asn1.Unmarshal(rest, &seg)
		if err != nil {
			return nil, fmt.Errorf("%w: segment of encryptedContent: %v", ErrMalformed, err)
		}
		out = append(out, seg...)
	}
	return out, nil
}

func (d *decoder) decryptError(what string, err error) error {
	if errors.Is(err, errPaddingOrPasswordIsNotValid) {
		if d.macVerified {
			return fmt.Errorf("%w: %s: %v although the MAC verified", ErrMalformed, what, err)
		}
		return fmt.Errorf("%w: %s: %v", ErrIncorrectPassword, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (d *decoder) safeContents(ber []byte, depth int) error {
	if depth > 4 {
		return fmt.Errorf("%w: safeContentsBag nested deeper than 4", ErrMalformed)
	}
	der, err := toDER(ber)
	if err != nil {
		return fmt.Errorf("%w: SafeContents: %v", ErrMalformed, err)
	}
	var bags []safeBag
	if err := unmarshalExact(der, &bags); err != nil {
		return fmt.Errorf("%w: SafeContents: %v", ErrMalformed, err)
	}
	for i, bag := range bags {
		d.bags++
		if d.bags > maxBags {
			return fmt.Errorf("%w: more than %d safe bags", ErrMalformed, maxBags)
		}
		if err := d.safeBag(bag, depth); err != nil {
			return fmt.Errorf("SafeBag[%d]: %w", i, err)
		}
	}
	return nil
}

func (d *decoder) safeBag(bag safeBag, depth int) error {
	switch {
	case bag.ID.Equal(oidKeyBag):
		k, err := parseKey(bag.Value.Bytes)
		if err != nil {
			return err
		}
		d.keys = append(d.keys, k)
	case bag.ID.Equal(oidPKCS8ShroudedKey):
		var epki encryptedPrivateKeyInfo
		if err := unmarshalExact(bag.Value.Bytes, &epki); err != nil {
			return fmt.Errorf("%w: EncryptedPrivateKeyInfo: %v", ErrMalformed, err)
		}
		plain, err := decrypt(epki.Algorithm, d.pw, epki.EncryptedData)
		if err != nil {
			return d.decryptError("shrouded key", err)
		}
		k, err := parseKey(plain)
		if err != nil {
			if !d.macVerified {
				// Without a MAC, a wrong password may decrypt to valid padding by chance.
				return fmt.Errorf("%w: shrouded key: %v", ErrIncorrectPassword, err)
			}
			return err
		}
		d.keys = append(d.keys, k)
	case bag.ID.Equal(oidCertBag):
		var cb certBag
		if err := unmarshalExact(bag.Value.Bytes, &cb); err != nil {
			return fmt.Errorf("%w: CertBag: %v", ErrMalformed, err)
		}
		if !cb.ID.Equal(oidX509CertificateBag) {
			return nil // SDSI certificates: not for us
		}
		c, err := x509.ParseCertificate(cb.Data)
		if err != nil {
			d.certErrs = append(d.certErrs, err)
			return nil
		}
		d.certs = append(d.certs, c)
	case bag.ID.Equal(oidSafeContentsBag):
		return d.safeContents(bag.Value.Bytes, depth+1)
	}
	// CRL and secret bags carry nothing Decode returns.
	return nil
}

// parseKey parses a (possibly BER) PKCS#8 PrivateKeyInfo; bare PKCS#1 and SEC 1 keys are
// accepted too.
func parseKey(ber []byte) (crypto.Signer, error) {
	der, err := toDER(ber)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %v", ErrMalformed, err)
	}
	k, err8 := x509.ParsePKCS8PrivateKey(der)
	if err8 != nil {
		if rk, err := x509.ParsePKCS1PrivateKey(der); err == nil {
			k = rk
		} else if ek, err := x509.ParseECPrivateKey(der); err == nil {
			k = ek
		} else {
			return nil, fmt.Errorf("%w: private key: %v", ErrMalformed, err8)
		}
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: private key of type %T cannot sign", ErrUnsupported, k)
	}
	return s, nil
}

type publicKeyEqualer interface {
	Equal(crypto.PublicKey) bool
}

func (d *decoder) result() (crypto.Signer, []*x509.Certificate, error) {
	if len(d.keys) == 0 {
		return nil, nil, fmt.Errorf("%w: the store holds no private key", ErrNoKey)
	}
	for _, k := range d.keys {
		pub, ok := k.Public().(publicKeyEqualer)
		if !ok {
			continue
		}
		for _, c := range d.certs {
			if pub.Equal(c.PublicKey) {
				return k, buildChain(c, d.certs), nil
			}
		}
	}
	msg := fmt.Sprintf("%d key(s), %d certificate(s), none matches a key", len(d.keys), len(d.certs))
	if len(d.certErrs) > 0 {
		msg += fmt.Sprintf("; %d certificate(s) could not be parsed (first: %v)", len(d.certErrs), d.certErrs[0])
	}
	return nil, nil, fmt.Errorf("%w: %s", ErrNoKey, msg)
}

// buildChain orders the path from leaf to its root through certs by issuer name (ties broken
// by authority/subject key identifier), stopping at a self-issued certificate or when no
// issuer is present.
func buildChain(leaf *x509.Certificate, certs []*x509.Certificate) []*x509.Certificate {
	chain := []*x509.Certificate{leaf}
	used := map[*x509.Certificate]bool{leaf: true}
	cur := leaf
	for !bytes.Equal(cur.RawIssuer, cur.RawSubject) {
		var next *x509.Certificate
		for _, c := range certs {
			if used[c] || c.Equal(cur) || !bytes.Equal(c.RawSubject, cur.RawIssuer) {
				continue
			}
			if next == nil {
				next = c
			}
			if len(cur.AuthorityKeyId) > 0 && bytes.Equal(cur.AuthorityKeyId, c.SubjectKeyId) {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		used[next] = true
		chain = append(chain, next)
		cur = next
	}
	return chain
}

// Compile-time checks that the key types Decode returns are signers.
var (
	_ crypto.Signer = (*rsa.PrivateKey)(nil)
	_ crypto.Signer = (*ecdsa.PrivateKey)(nil)
)
