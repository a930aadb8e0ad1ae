package b64

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
)

func TestDecode(t *testing.T) {
	data := []byte{0xfb, 0xff, 0xbf, 0x00, 0x10, 0x83, 0x3e}
	std := base64.StdEncoding.EncodeToString(data)
	url := base64.URLEncoding.EncodeToString(data)
	tests := []struct {
		name string
		in   string
		want []byte
	}{
		{"empty", "", []byte{}},
		{"std padded", std, data},
		{"url padded", url, data},
		{"std raw", base64.RawStdEncoding.EncodeToString(data), data},
		{"url raw", base64.RawURLEncoding.EncodeToString(data), data},
		{"whitespace", std[:4] + "\r\n" + std[4:8] + " \t" + std[8:], data},
		{"mixed alphabets", "-_+/", []byte{0xfb, 0xff, 0xbf}},
		{"one byte unpadded", "QQ", []byte("A")},
		{"two bytes unpadded", "QUI", []byte("AB")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeString(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("got %x want %x", got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{"Q", "QQ=", "QQ===", "QUJD=", "QU*D", "QQ==QQ==", "====", "é"} {
		if _, err := DecodeString(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeString(%q) err = %v, want ErrInvalid", in, err)
		}
	}
}

func TestDecodeLarge(t *testing.T) {
	data := make([]byte, 100_003)
	for i := range data {
		data[i] = byte(i * 7)
	}
	enc := []byte(base64.URLEncoding.EncodeToString(data))
	n, err := DecodeInPlace(enc)
	if err != nil || !bytes.Equal(enc[:n], data) {
		t.Fatalf("in-place decode of 100 KB failed: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "QUJD", "QQ==", "-_+/", " Q U J D ", "QQ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := DecodeString(s)
		if err != nil {
			return
		}
		// Decoding is alphabet- and padding-insensitive: re-encoding must round-trip.
		again, err := DecodeString(EncodeURL(got))
		if err != nil || !bytes.Equal(got, again) {
			t.Fatalf("round trip failed for %q", s)
		}
		// The fast path (no white space) and the general path must agree.
		slow, err := DecodeString(" " + s)
		if err != nil || !bytes.Equal(got, slow) {
			t.Fatalf("fast and general paths differ for %q: %x vs %x (%v)", s, got, slow, err)
		}
	})
}

func BenchmarkDecodeInPlace1MB(b *testing.B) {
	data := make([]byte, 1<<20)
	enc := base64.URLEncoding.EncodeToString(data)
	buf := make([]byte, len(enc))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, enc)
		if _, err := DecodeInPlace(buf); err != nil {
			b.Fatal(err)
		}
	}
}
