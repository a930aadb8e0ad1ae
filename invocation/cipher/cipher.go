// Package cipher implements the ciphers of the data that travels through the @firma intermediate
// server: the legacy DES cipher keyed by the invocation's "key" parameter and the AES-CBC cipher
// described by the newer "cipher" parameter.
//
// DES (bit-exact with the reference DesServerCipher): the key is the 8 bytes of the "key"
// parameter, the algorithm DES/ECB without padding; the plaintext is padded with zero bytes to a
// multiple of 8 and the output is "<p>.<padded URL-safe Base64 of the ciphertext>", where p is
// the number of zero bytes added. Key "12345678" and "Hola Mundo" give
// "6.KSCk4xRsiiul5vrlTW0tQw==".
//
// AES (AesServerCipher): AES/CBC with PKCS#5 padding, a 256-bit key and a 16-byte IV taken from
// the "cipher" parameter's JSON, output as padded URL-safe Base64 without a prefix. The same IV is
// used for every value of a session, as the reference does. When AES decryption fails the
// reference falls back to DES with the legacy key, and so does [AES.Decrypt].
//
// The decoders accept either Base64 alphabet, with or without padding, and ignore white space.
package cipher

import (
	"crypto/aes"
	gocipher "crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/trifirma/trifirma/internal/b64"
)

var (
	// ErrKey reports an unusable key: a DES key that is not 8 bytes, an AES key that is not 16,
	// 24 or 32 bytes, or an IV that is not 16 bytes.
	ErrKey = errors.New("cipher: invalid key")
	// ErrCiphertext reports a value that is not a ciphertext of this cipher (bad Base64, bad
	// length, bad padding prefix or bad PKCS#5 padding).
	ErrCiphertext = errors.New("cipher: malformed ciphertext")
	// ErrConfig reports a "cipher" parameter that cannot be decoded.
	ErrConfig = errors.New("cipher: invalid cipher configuration")
)

// Cipher encrypts and decrypts the values exchanged through the intermediate server.
type Cipher interface {
	// Encrypt returns the text form of the ciphertext of plain.
	Encrypt(plain []byte) string
	// Decrypt reverses Encrypt; errors wrap [ErrCiphertext].
	Decrypt(text string) ([]byte, error)
}

// DESKeyLength is the length of the DES "key" parameter.
const DESKeyLength = 8

// DES is the legacy cipher. It is safe for concurrent use.
type DES struct {
	key   string
	block gocipher.Block
}

// NewDES returns the DES cipher for the invocation parameter key, which must be exactly 8 bytes
// (the reference checks 8 characters and uses their bytes; non-ASCII keys are refused here).
func NewDES(key string) (*DES, error) {
	if len(key) != DESKeyLength {
		return nil, fmt.Errorf("%w: DES key must be %d bytes, got %d", ErrKey, DESKeyLength, len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return nil, fmt.Errorf("%w: DES key must be printable ASCII", ErrKey)
		}
	}
	block, err := des.NewCipher([]byte(key))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return &DES{key: key, block: block}, nil
}

// GenerateDESKey returns a random key like the reference JavaScript's: 8 decimal digits. A nil
// r means crypto/rand.
func GenerateDESKey(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [DESKeyLength]byte
	out := make([]byte, DESKeyLength)
	for i := range out {
		for {
			if _, err := io.ReadFull(r, b[:1]); err != nil {
				return "", fmt.Errorf("cipher: generating a key: %w", err)
			}
			if b[0] < 250 { // unbiased: 250 = 25*10
				out[i] = '0' + b[0]%10
				break
			}
		}
	}
	return string(out), nil
}

// Key returns the 8-character key (the "key" invocation parameter).
func (d *DES) Key() string { return d.key }

// Encrypt implements [Cipher]: "<p>.<URL-safe Base64>".
func (d *DES) Encrypt(plain []byte) string {
	pad := (8 - len(plain)%8) % 8
	buf := make([]byte, len(plain)+pad)
	copy(buf, plain)
	for i := 0; i < len(buf); i += 8 {
		d.block.Encrypt(buf[i:i+8], buf[i:i+8])
	}
	return string(rune('0'+pad)) + "." + b64.EncodeURL(buf)
}

// Decrypt implements [Cipher]. As in the reference, a text whose second character is '.' (and
// which is longer than 2 characters) starts with the pad count; otherwise the whole text is the
// Base64 and nothing is dropped. "0.", which Encrypt writes for empty input, decrypts to empty
// input (the reference refuses it).
func (d *DES) Decrypt(text string) ([]byte, error) {
	if text == "0." {
		return []byte{}, nil
	}
	pad := 0
	if len(text) > 2 && text[1] == '.' {
		if text[0] < '0' || text[0] > '7' {
			return nil, fmt.Errorf("%w: DES padding prefix %q", ErrCiphertext, text[:1])
		}
		pad = int(text[0] - '0')
		text = text[2:]
	}
	buf, err := b64.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCiphertext, err)
	}
	if len(buf)%8 != 0 {
		return nil, fmt.Errorf("%w: DES ciphertext of %d bytes is not a multiple of 8", ErrCiphertext, len(buf))
	}
	if pad > len(buf) {
		return nil, fmt.Errorf("%w: DES padding %d exceeds the %d-byte plaintext", ErrCiphertext, pad, len(buf))
	}
	for i := 0; i < len(buf); i += 8 {
		d.block.Decrypt(buf[i:i+8], buf[i:i+8])
	}
	return buf[:len(buf)-pad], nil
}

// AES is the newer cipher. It is safe for concurrent use.
type AES struct {
	key, iv []byte
	block   gocipher.Block
	legacy  *DES
}

// NewAES returns the AES-CBC cipher for key (16, 24 or 32 bytes) and iv (16 bytes). legacy, when
// not nil, is the DES cipher of the same session: [AES.Decrypt] falls back to it, and
// [AES.Param] announces its key.
func NewAES(key, iv []byte, legacy *DES) (*AES, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("%w: AES IV must be %d bytes, got %d", ErrKey, aes.BlockSize, len(iv))
	}
	return &AES{key: append([]byte(nil), key...), iv: append([]byte(nil), iv...), block: block, legacy: legacy}, nil
}

// GenerateAES returns a session cipher like the one the reference JavaScript generates: a random
// 256-bit key, a random IV and a random legacy DES key. A nil r means crypto/rand.
func GenerateAES(r io.Reader) (*AES, error) {
	if r == nil {
		r = rand.Reader
	}
	kb := make([]byte, 32+aes.BlockSize)
	if _, err := io.ReadFull(r, kb); err != nil {
		return nil, fmt.Errorf("cipher: generating a key: %w", err)
	}
	dk, err := GenerateDESKey(r)
	if err != nil {
		return nil, err
	}
	legacy, err := NewDES(dk)
	if err != nil {
		return nil, err
	}
	return NewAES(kb[:32], kb[32:], legacy)
}

// Legacy returns the session's DES cipher, or nil.
func (a *AES) Legacy() *DES { return a.legacy }

// Encrypt implements [Cipher]: PKCS#5-padded AES-CBC, padded URL-safe Base64.
func (a *AES) Encrypt(plain []byte) string {
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := make([]byte, len(plain)+pad)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	gocipher.NewCBCEncrypter(a.block, a.iv).CryptBlocks(buf, buf)
	return b64.EncodeURL(buf)
}

// Decrypt implements [Cipher]. When AES decryption fails and there is a legacy DES cipher, the
// text is tried as DES, as the reference does; if that fails too the AES error is returned.
func (a *AES) Decrypt(text string) ([]byte, error) {
	plain, err := a.decryptAES(text)
	if err != nil && a.legacy != nil {
		if p, derr := a.legacy.Decrypt(text); derr == nil {
			return p, nil
		}
	}
	return plain, err
}

func (a *AES) decryptAES(text string) ([]byte, error) {
	buf, err := b64.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCiphertext, err)
	}
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: AES ciphertext of %d bytes is not a positive multiple of %d", ErrCiphertext, len(buf), aes.BlockSize)
	}
	gocipher.NewCBCDecrypter(a.block, a.iv).CryptBlocks(buf, buf)
	pad := int(buf[len(buf)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, fmt.Errorf("%w: bad AES padding", ErrCiphertext)
	}
	var bad byte
	for _, c := range buf[len(buf)-pad:] {
		bad |= c ^ byte(pad)
	}
	if bad != 0 {
		return nil, fmt.Errorf("%w: bad AES padding", ErrCiphertext)
	}
	return buf[:len(buf)-pad], nil
}

// config is the JSON the "cipher" parameter carries. The JavaScript writes algo, key, iv and
// legDes; AutoFirma appends legacydes (the "key" parameter) before parsing it.
type config struct {
	Algo      string `json:"algo"`
	Key       string `json:"key"`
	IV        string `json:"iv,omitempty"`
	LegDes    string `json:"legDes,omitempty"`
	LegacyDES string `json:"legacydes,omitempty"`
}

// Param returns the "cipher" invocation parameter: padded URL-safe Base64 of the JSON
// {"algo":"AES","key":...,"iv":...,"legDes":...} with standard Base64 key and IV, as the
// JavaScript builds it. The legacy key also travels as the "key" parameter.
func (a *AES) Param() string {
	c := config{Algo: "AES", Key: b64.EncodeStd(a.key), IV: b64.EncodeStd(a.iv)}
	if a.legacy != nil {
		c.LegDes = a.legacy.key
	}
	js, _ := json.Marshal(c) // cannot fail: strings only
	return b64.EncodeURL(js)
}

// FromParams returns the cipher a signing app derives from the invocation parameters "cipher"
// (the AES configuration, may be empty) and "key" (the DES key, may be empty), or nil when both
// are empty (no ciphering). With both, the AES cipher falls back to DES with key. Errors wrap
// [ErrConfig] or [ErrKey].
func FromParams(cipherParam, key string) (Cipher, error) {
	var legacy *DES
	if key != "" {
		d, err := NewDES(key)
		if err != nil {
			return nil, err
		}
		legacy = d
	}
	if strings.TrimSpace(cipherParam) == "" {
		if legacy == nil {
			return nil, nil
		}
		return legacy, nil
	}
	js, err := b64.DecodeString(cipherParam)
	if err != nil {
		return nil, fmt.Errorf("%w: not Base64", ErrConfig)
	}
	var c config
	if err := json.Unmarshal(js, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	switch c.Algo {
	case "DES":
		return NewDES(c.Key)
	case "AES":
		k, err := b64.DecodeString(c.Key)
		if err != nil {
			return nil, fmt.Errorf("%w: AES key is not Base64", ErrConfig)
		}
		iv, err := b64.DecodeString(c.IV)
		if err != nil {
			return nil, fmt.Errorf("%w: AES IV is not Base64", ErrConfig)
		}
		if legacy == nil && c.LegacyDES != "" {
			if legacy, err = NewDES(c.LegacyDES); err != nil {
				return nil, err
			}
		}
		return NewAES(k, iv, legacy)
	}
	return nil, fmt.Errorf("%w: unknown algorithm %q", ErrConfig, c.Algo)
}
