package pkcs12

import (
	"bytes"
	"encoding/hex"
	"os/exec"
	"testing"
)

// RFC 2268 section 5 test vectors.
func TestRC2Vectors(t *testing.T) {
	tests := []struct {
		key  string
		bits int
		pt   string
		ct   string
	}{
		{"0000000000000000", 63, "0000000000000000", "ebb773f993278eff"},
		{"ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"},
		{"3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"},
		{"88", 64, "0000000000000000", "61a8a244adacccf0"},
		{"88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"},
		{"88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"},
		{"88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"},
		{"88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e", 129, "0000000000000000", "5b78d3a43dfff1f1"},
	}
	for _, tc := range tests {
		key, _ := hex.DecodeString(tc.key)
		pt, _ := hex.DecodeString(tc.pt)
		want, _ := hex.DecodeString(tc.ct)
		b, err := newRC2(key, tc.bits)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 8)
		b.Encrypt(got, pt)
		if !bytes.Equal(got, want) {
			t.Errorf("key %s/%d: encrypt = %x, want %x", tc.key, tc.bits, got, want)
		}
		back := make([]byte, 8)
		b.Decrypt(back, want)
		if !bytes.Equal(back, pt) {
			t.Errorf("key %s/%d: decrypt = %x, want %x", tc.key, tc.bits, back, pt)
		}
	}
	for _, bad := range []struct {
		n, bits int
	}{{0, 40}, {129, 40}, {5, 0}, {5, 1025}} {
		if _, err := newRC2(make([]byte, bad.n), bad.bits); err == nil {
			t.Errorf("newRC2(%d bytes, %d bits) accepted", bad.n, bad.bits)
		}
	}
}

// Cross-check against OpenSSL's RC2 (legacy provider): 16-byte key, 128 effective bits.
func TestRC2AgainstOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	key := []byte("0123456789abcdef")
	pt := []byte("trifirma RC2 check, 32 bytes!!!!")
	cmd := exec.Command("openssl", "enc", "-rc2-ecb", "-nopad", "-K", hex.EncodeToString(key), "-provider", "legacy", "-provider", "default")
	cmd.Stdin = bytes.NewReader(pt)
	want, err := cmd.Output()
	if err != nil {
		t.Skipf("openssl has no RC2 here: %v", err)
	}
	b, err := newRC2(key, 128)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(pt))
	for i := 0; i < len(pt); i += 8 {
		b.Encrypt(got[i:], pt[i:])
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("RC2 = %x, openssl = %x", got, want)
	}
}
