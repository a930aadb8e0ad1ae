package pkcs12

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"hash"
)

// Password-based encryption schemes found in PKCS#12 files.
var (
	oidPBEWithSHAAnd128BitRC4      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 1}
	oidPBEWithSHAAnd40BitRC4       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 2}
	oidPBEWithSHAAnd3KeyTripleDES  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidPBEWithSHAAnd2KeyTripleDES  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 4}
	oidPBEWithSHAAnd128BitRC2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 5}
	oidPBEWithSHAAnd40BitRC2       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 6}
	oidPBES2                       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2                      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidPBMAC1                      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidAES128CBC                   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC                   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC                   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC                  = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	errPaddingOrPasswordIsNotValid = fmt.Errorf("decryption produced invalid padding")
)

// maxIterations bounds every iteration count read from a file (KDF, PBKDF2, MAC), so that a
// crafted file cannot keep the decoder busy for minutes. Real stores use 1..2,000,000.
var maxIterations = 10_000_000

type pbeParams struct {
	Salt       []byte
	Iterations int
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       asn1.RawValue
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

func checkIterations(n int) error {
	if n < 1 || n > maxIterations {
		return fmt.Errorf("%w: iteration count %d outside 1..%d", ErrMalformed, n, maxIterations)
	}
	return nil
}

// decrypt decrypts data with the password-based scheme alg. pw holds the password in both
// encodings: BMP for the PKCS#12 KDF, UTF-8 for PBKDF2.
func decrypt(alg pkix.AlgorithmIdentifier, pw passwords, data []byte) ([]byte, error) {
	block, iv, err := pbeCipher(alg, pw)
	if err != nil {
		return nil, err
	}
	bs := block.BlockSize()
	if len(data) == 0 || len(data)%bs != 0 {
		return nil, fmt.Errorf("%w: encrypted data of %d bytes is not a whole number of %d-byte blocks", ErrMalformed, len(data), bs)
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, data)
	// PKCS#5 padding
	p := int(out[len(out)-1])
	if p == 0 || p > bs {
		return nil, errPaddingOrPasswordIsNotValid
	}
	for _, c := range out[len(out)-p:] {
		if int(c) != p {
			return nil, errPaddingOrPasswordIsNotValid
		}
	}
	return out[:len(out)-p], nil
}

func pbeCipher(alg pkix.AlgorithmIdentifier, pw passwords) (cipher.Block, []byte, error) {
	alg1 := alg.Algorithm
	switch {
	case alg1.Equal(oidPBES2):
		return pbes2Cipher(alg, pw)
	case alg1.Equal(oidPBEWithSHAAnd3KeyTripleDES), alg1.Equal(oidPBEWithSHAAnd2KeyTripleDES),
		alg1.Equal(oidPBEWithSHAAnd40BitRC2), alg1.Equal(oidPBEWithSHAAnd128BitRC2):
	case alg1.Equal(oidPBEWithSHAAnd128BitRC4), alg1.Equal(oidPBEWithSHAAnd40BitRC4):
		return nil, nil, fmt.Errorf("%w: RC4-based PBE %v", ErrUnsupported, alg1)
	default:
		return nil, nil, fmt.Errorf("%w: encryption algorithm %v", ErrUnsupported, alg1)
	}
	var params pbeParams
	if err := unmarshalExact(alg.Parameters.FullBytes, &params); err != nil {
		return nil, nil, fmt.Errorf("%w: PBE parameters: %v", ErrMalformed, err)
	}
	if err := checkIterations(params.Iterations); err != nil {
		return nil, nil, err
	}
	kdf := func(id byte, n int) []byte { return pkcs12KDF(sha1.New, id, pw.bmp, params.Salt, params.Iterations, n) }
	switch {
	case alg1.Equal(oidPBEWithSHAAnd3KeyTripleDES):
		b, err := des.NewTripleDESCipher(kdf(idKey, 24))
		return b, kdf(idIV, 8), err
	case alg1.Equal(oidPBEWithSHAAnd2KeyTripleDES):
		k := kdf(idKey, 16)
		b, err := des.NewTripleDESCipher(append(k, k[:8]...))
		return b, kdf(idIV, 8), err
	case alg1.Equal(oidPBEWithSHAAnd40BitRC2):
		b, err := newRC2(kdf(idKey, 5), 40)
		return b, kdf(idIV, 8), err
	default: // 128-bit RC2
		b, err := newRC2(kdf(idKey, 16), 128)
		return b, kdf(idIV, 8), err
	}
}

// pbkdf2Key derives a key with PBKDF2 as described by params (an AlgorithmIdentifier for
// id-PBKDF2). wantLen is the key length the caller needs (0 = take it from the parameters).
func pbkdf2Key(kdfAlg pkix.AlgorithmIdentifier, password string, wantLen int) ([]byte, error) {
	if !kdfAlg.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("%w: key derivation function %v (only PBKDF2 is supported)", ErrUnsupported, kdfAlg.Algorithm)
	}
	var p pbkdf2Params
	if err := unmarshalExact(kdfAlg.Parameters.FullBytes, &p); err != nil {
		return nil, fmt.Errorf("%w: PBKDF2 parameters: %v", ErrMalformed, err)
	}
	if p.Salt.Class != asn1.ClassUniversal || p.Salt.Tag != asn1.TagOctetString {
		return nil, fmt.Errorf("%w: PBKDF2 salt from another source (not an OCTET STRING)", ErrUnsupported)
	}
	if err := checkIterations(p.Iterations); err != nil {
		return nil, err
	}
	prf := func() hash.Hash { return sha1.New() }
	if len(p.PRF.Algorithm) > 0 {
		h, name := hmacByOID(p.PRF.Algorithm)
		if name == "" {
			return nil, fmt.Errorf("%w: PBKDF2 PRF %v", ErrUnsupported, p.PRF.Algorithm)
		}
		prf = h
	}
	n := wantLen
	switch {
	case n == 0 && p.KeyLength == 0:
		return nil, fmt.Errorf("%w: PBKDF2 parameters without keyLength", ErrMalformed)
	case n == 0:
		n = p.KeyLength
	case p.KeyLength != 0 && p.KeyLength != n:
		return nil, fmt.Errorf("%w: PBKDF2 keyLength %d, the cipher needs %d", ErrMalformed, p.KeyLength, n)
	}
	if n < 1 || n > 1024 {
		return nil, fmt.Errorf("%w: PBKDF2 key length %d", ErrMalformed, n)
	}
	return pbkdf2.Key(prf, password, p.Salt.Bytes, p.Iterations, n)
}

func pbes2Cipher(alg pkix.AlgorithmIdentifier, pw passwords) (cipher.Block, []byte, error) {
	var params pbes2Params
	if err := unmarshalExact(alg.Parameters.FullBytes, &params); err != nil {
		return nil, nil, fmt.Errorf("%w: PBES2 parameters: %v", ErrMalformed, err)
	}
	enc := params.EncryptionScheme
	var keyLen, ivLen int
	var newBlock func([]byte) (cipher.Block, error)
	switch {
	case enc.Algorithm.Equal(oidAES128CBC):
		keyLen, ivLen, newBlock = 16, aes.BlockSize, aes.NewCipher
	case enc.Algorithm.Equal(oidAES192CBC):
		keyLen, ivLen, newBlock = 24, aes.BlockSize, aes.NewCipher
	case enc.Algorithm.Equal(oidAES256CBC):
		keyLen, ivLen, newBlock = 32, aes.BlockSize, aes.NewCipher
	case enc.Algorithm.Equal(oidDESEDE3CBC):
		keyLen, ivLen, newBlock = 24, des.BlockSize, des.NewTripleDESCipher
	default:
		return nil, nil, fmt.Errorf("%w: PBES2 encryption scheme %v", ErrUnsupported, enc.Algorithm)
	}
	var iv []byte
	if err := unmarshalExact(enc.Parameters.FullBytes, &iv); err != nil {
		return nil, nil, fmt.Errorf("%w: PBES2 IV: %v", ErrMalformed, err)
	}
	if len(iv) != ivLen {
		return nil, nil, fmt.Errorf("%w: PBES2 IV of %d bytes, want %d", ErrMalformed, len(iv), ivLen)
	}
	key, err := pbkdf2Key(params.KeyDerivationFunc, pw.utf8, keyLen)
	if err != nil {
		return nil, nil, err
	}
	b, err := newBlock(key)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return b, iv, nil
}

// unmarshalExact is asn1.Unmarshal that rejects trailing data.
func unmarshalExact(b []byte, v any) error {
	rest, err := asn1.Unmarshal(b, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d trailing bytes", len(rest))
	}
	return nil
}
