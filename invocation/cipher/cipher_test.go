package cipher_test

import (
	"bytes"
	"crypto/aes"
	gocipher "crypto/cipher"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/trifirma/trifirma/invocation/cipher"
)

// TestDESVector is the bit-exact vector of afirma-protocol.md §4.5 (checked there against the
// JDK and OpenSSL).
func TestDESVector(t *testing.T) {
	d, err := cipher.NewDES("12345678")
	if err != nil {
		t.Fatal(err)
	}
	const want = "6.KSCk4xRsiiul5vrlTW0tQw=="
	if got := d.Encrypt([]byte("Hola Mundo")); got != want {
		t.Fatalf("Encrypt = %q, want %q", got, want)
	}
	for _, in := range []string{want, "6.KSCk4xRsiiul5vrlTW0tQw", "6.KSCk4xRsiiul5vrlTW0tQw==\n", "6.KSCk4xRs iiul5vrlTW0tQw=="} {
		got, err := d.Decrypt(in)
		if err != nil || string(got) != "Hola Mundo" {
			t.Errorf("Decrypt(%q) = %q, %v", in, got, err)
		}
	}
}

func TestDESRoundTrip(t *testing.T) {
	d, _ := cipher.NewDES("00000042")
	for n := range 40 {
		plain := bytes.Repeat([]byte{byte(n), 0xff, '+', '/'}, n)[:n]
		ct := d.Encrypt(plain)
		if ct[1] != '.' || int(ct[0]-'0') != (8-n%8)%8 {
			t.Errorf("len %d: prefix %q", n, ct[:2])
		}
		if strings.ContainsAny(ct, "+/") {
			t.Errorf("len %d: not URL-safe: %q", n, ct)
		}
		got, err := d.Decrypt(ct)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("len %d: %x, %v", n, got, err)
		}
	}
	// Without the prefix the whole text is the Base64 and nothing is dropped.
	ct := d.Encrypt([]byte("12345678"))
	if got, err := d.Decrypt(ct[2:]); err != nil || string(got) != "12345678" {
		t.Errorf("prefixless: %q, %v", got, err)
	}
}

func TestDESErrors(t *testing.T) {
	for _, k := range []string{"", "1234567", "123456789", "1234567\x00", "1234567ñ"} {
		if _, err := cipher.NewDES(k); !errors.Is(err, cipher.ErrKey) {
			t.Errorf("NewDES(%q) err = %v", k, err)
		}
	}
	d, _ := cipher.NewDES("12345678")
	for _, ct := range []string{"6.KSCk4xRs", "9.KSCk4xRsiiul5vrlTW0tQw==", "x.KSCk4xRsiiul5vrlTW0tQw==", "6.!!!!", "7.AAAAAA==", "AAAA"} {
		if _, err := d.Decrypt(ct); !errors.Is(err, cipher.ErrCiphertext) {
			t.Errorf("Decrypt(%q) err = %v, want ErrCiphertext", ct, err)
		}
	}
	if got, err := d.Decrypt(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %q %v", got, err)
	}
}

func TestGenerateDESKey(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		k, err := cipher.GenerateDESKey(nil)
		if err != nil || len(k) != 8 || strings.Trim(k, "0123456789") != "" {
			t.Fatalf("key %q, %v", k, err)
		}
		seen[k] = true
	}
	if len(seen) < 45 {
		t.Errorf("only %d distinct keys in 50", len(seen))
	}
	if _, err := cipher.GenerateDESKey(strings.NewReader("")); err == nil {
		t.Error("no error from an empty source")
	}
}

func TestAES(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	iv := bytes.Repeat([]byte{9}, 16)
	des, _ := cipher.NewDES("87654321")
	a, err := cipher.NewAES(key, iv, des)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 40 {
		plain := bytes.Repeat([]byte("x"), n)
		ct := a.Encrypt(plain)
		// Cross-check with the standard library directly: CBC, PKCS#5, URL-safe padded Base64.
		raw, err := base64.URLEncoding.DecodeString(ct)
		if err != nil || len(raw) != (n/16+1)*16 {
			t.Fatalf("len %d: %q, %v", n, ct, err)
		}
		gocipher.NewCBCDecrypter(mustAES(key), iv).CryptBlocks(raw, raw)
		if !bytes.Equal(raw[:n], plain) || int(raw[len(raw)-1]) != len(raw)-n {
			t.Fatalf("len %d: bad CBC/PKCS#5 output", n)
		}
		if got, err := a.Decrypt(ct); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("len %d: %q, %v", n, got, err)
		}
	}
	// Fallback to the legacy DES key, as AesServerCipher does.
	if got, err := a.Decrypt(des.Encrypt([]byte("legacy"))); err != nil || string(got) != "legacy" {
		t.Fatalf("fallback: %q, %v", got, err)
	}
	noLegacy, _ := cipher.NewAES(key, iv, nil)
	if _, err := noLegacy.Decrypt(des.Encrypt([]byte("legacy"))); !errors.Is(err, cipher.ErrCiphertext) {
		t.Fatalf("no fallback: err = %v", err)
	}
	if _, err := cipher.NewAES(key[:31], iv, nil); !errors.Is(err, cipher.ErrKey) {
		t.Error("31-byte key accepted")
	}
	if _, err := cipher.NewAES(key, iv[:8], nil); !errors.Is(err, cipher.ErrKey) {
		t.Error("8-byte IV accepted")
	}
}

func mustAES(key []byte) gocipher.Block {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	return b
}

func TestFromParams(t *testing.T) {
	a, err := cipher.GenerateAES(nil)
	if err != nil {
		t.Fatal(err)
	}
	legacyKey := a.Legacy().Key()
	// The page's parameters: cipher (AES JSON) and key (DES).
	c, err := cipher.FromParams(a.Param(), legacyKey)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Decrypt(a.Encrypt([]byte("hola"))); err != nil || string(got) != "hola" {
		t.Fatalf("AES via params: %q, %v", got, err)
	}
	if got, err := c.Decrypt(a.Legacy().Encrypt([]byte("hola"))); err != nil || string(got) != "hola" {
		t.Fatalf("DES fallback via params: %q, %v", got, err)
	}
	// The JSON the JavaScript writes, standard Base64 of it (btoa), and a "legacydes" entry.
	js := `{"algo":"AES","key":"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)) +
		`","iv":"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, 16)) + `","legacydes":"11112222"}`
	c, err = cipher.FromParams(base64.StdEncoding.EncodeToString([]byte(js)), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*cipher.AES); !ok || c.(*cipher.AES).Legacy().Key() != "11112222" {
		t.Fatalf("got %T", c)
	}
	if c, err := cipher.FromParams("", "12345678"); err != nil || c.(*cipher.DES).Key() != "12345678" {
		t.Fatalf("DES only: %v %v", c, err)
	}
	if c, err := cipher.FromParams("", ""); err != nil || c != nil {
		t.Fatalf("none: %v %v", c, err)
	}
	desJSON := base64.StdEncoding.EncodeToString([]byte(`{"algo":"DES","key":"12345678"}`))
	if c, err := cipher.FromParams(desJSON, ""); err != nil || c.(*cipher.DES).Key() != "12345678" {
		t.Fatalf("DES JSON: %v %v", c, err)
	}
	for _, bad := range []string{"!!", base64.StdEncoding.EncodeToString([]byte("{")), base64.StdEncoding.EncodeToString([]byte(`{"algo":"RC4"}`))} {
		if _, err := cipher.FromParams(bad, ""); !errors.Is(err, cipher.ErrConfig) {
			t.Errorf("FromParams(%q) err = %v", bad, err)
		}
	}
	if _, err := cipher.FromParams("", "123"); !errors.Is(err, cipher.ErrKey) {
		t.Errorf("short key err = %v", err)
	}
}

// FuzzDecrypt feeds arbitrary text to both decoders: no panic, and anything that decrypts
// re-encrypts to a text that decrypts to the same bytes.
func FuzzDecrypt(f *testing.F) {
	f.Add("6.KSCk4xRsiiul5vrlTW0tQw==")
	f.Add("0.AAAAAAAAAAA=")
	f.Add("7.")
	f.Add("9.AAAAAAAAAAA")
	f.Add("AAAAAAAAAAAAAAAAAAAAAA==")
	f.Add("a.b.c")
	des, _ := cipher.NewDES("12345678")
	a, _ := cipher.NewAES(bytes.Repeat([]byte{3}, 32), bytes.Repeat([]byte{4}, 16), des)
	f.Fuzz(func(t *testing.T, text string) {
		for _, c := range []cipher.Cipher{des, a} {
			plain, err := c.Decrypt(text)
			if err != nil {
				if !errors.Is(err, cipher.ErrCiphertext) {
					t.Fatalf("%T: unexpected error class: %v", c, err)
				}
				continue
			}
			again, err := c.Decrypt(c.Encrypt(plain))
			if err != nil || !bytes.Equal(again, plain) {
				t.Fatalf("%T: round trip of %x failed: %v", c, plain, err)
			}
		}
	})
}
