package pkcs12

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"hash"
	"unicode/utf16"
)

// bmpPassword encodes a password as PKCS#12 wants it for its own KDF (RFC 7292 B.1): UTF-16
// big-endian (BMPString) followed by two zero bytes. Characters outside the BMP become surrogate
// pairs, as Java and OpenSSL write them.
func bmpPassword(password string) []byte {
	u := utf16.Encode([]rune(password))
	out := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		out = append(out, byte(c>>8), byte(c))
	}
	return append(out, 0, 0)
}

// PKCS#12 KDF diversifier IDs (RFC 7292 B.3).
const (
	idKey = 1
	idIV  = 2
	idMAC = 3
)

// pkcs12KDF is the key derivation of RFC 7292 appendix B.2 over hash h (output u bytes, block
// v bytes). password is already BMP-encoded. It returns n bytes.
func pkcs12KDF(h func() hash.Hash, id byte, password, salt []byte, iterations, n int) []byte {
	hh := h()
	u := hh.Size()
	v := hh.BlockSize()
	d := make([]byte, v)
	for i := range d {
		d[i] = id
	}
	fill := func(src []byte) []byte {
		if len(src) == 0 {
			return nil
		}
		out := make([]byte, v*((len(src)+v-1)/v))
		for i := range out {
			out[i] = src[i%len(src)]
		}
		return out
	}
	s := fill(salt)
	p := fill(password)
	ib := make([]byte, 0, len(s)+len(p))
	ib = append(ib, s...)
	ib = append(ib, p...)
	out := make([]byte, 0, n+u)
	a := make([]byte, 0, u)
	b := make([]byte, v)
	for len(out) < n {
		hh.Reset()
		hh.Write(d)
		hh.Write(ib)
		a = hh.Sum(a[:0])
		for r := 1; r < iterations; r++ {
			hh.Reset()
			hh.Write(a)
			a = hh.Sum(a[:0])
		}
		out = append(out, a...)
		if len(out) >= n {
			break
		}
		for i := range b {
			b[i] = a[i%u]
		}
		// Each v-byte block I_j of I becomes (I_j + B + 1) mod 2^(8v).
		for j := 0; j < len(ib); j += v {
			blk := ib[j : j+v]
			carry := uint(1)
			for k := v - 1; k >= 0; k-- {
				sum := uint(blk[k]) + uint(b[k]) + carry
				blk[k] = byte(sum)
				carry = sum >> 8
			}
		}
	}
	return out[:n]
}

// Digest algorithms usable for the PKCS#12 MAC and as PBKDF2 PRFs.
var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
)

func digestByOID(oid asn1.ObjectIdentifier) (func() hash.Hash, string) {
	switch {
	case oid.Equal(oidSHA1):
		return sha1.New, "SHA-1"
	case oid.Equal(oidSHA224):
		return sha256.New224, "SHA-224"
	case oid.Equal(oidSHA256):
		return sha256.New, "SHA-256"
	case oid.Equal(oidSHA384):
		return sha512.New384, "SHA-384"
	case oid.Equal(oidSHA512):
		return sha512.New, "SHA-512"
	}
	return nil, ""
}

func hmacByOID(oid asn1.ObjectIdentifier) (func() hash.Hash, string) {
	switch {
	case oid.Equal(oidHMACSHA1):
		return sha1.New, "HMAC-SHA1"
	case oid.Equal(oidHMACSHA224):
		return sha256.New224, "HMAC-SHA224"
	case oid.Equal(oidHMACSHA256):
		return sha256.New, "HMAC-SHA256"
	case oid.Equal(oidHMACSHA384):
		return sha512.New384, "HMAC-SHA384"
	case oid.Equal(oidHMACSHA512):
		return sha512.New, "HMAC-SHA512"
	}
	return nil, ""
}
