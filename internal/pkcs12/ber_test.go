package pkcs12

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestToDER(t *testing.T) {
	long := strings.Repeat("ab", 129)
	tests := []struct {
		name, in, want string
	}{
		{"definite-der", "30 03 02 01 05", "30 03 02 01 05"},
		{"indefinite-sequence", "30 80 02 01 05 00 00", "30 03 02 01 05"},
		{"constructed-octets", "24 80 04 02 aa bb 04 01 cc 00 00", "04 03 aa bb cc"},
		{"nested-constructed-octets", "24 80 24 80 04 01 aa 00 00 04 01 bb 00 00", "04 02 aa bb"},
		{"definite-constructed-octets", "24 06 04 01 aa 04 01 bb", "04 02 aa bb"},
		{"empty-constructed-octets", "24 80 00 00", "04 00"},
		{"non-minimal-length", "04 81 01 aa", "04 01 aa"},
		{"long-form", "04 82 00 81" + long, "04 81 81" + long},
		{"bit-string", "23 80 03 02 00 aa 03 02 04 b0 00 00", "03 03 04 aa b0"},
		{"utf8-string", "2c 80 0c 01 41 0c 01 42 00 00", "0c 02 41 42"},
		{"high-tag", "bf 1f 80 02 01 01 00 00", "bf 1f 03 02 01 01"},
		{"context-constructed-kept", "a0 80 04 01 aa 00 00", "a0 03 04 01 aa"},
		{"deep-indefinite", "30 80 30 80 30 80 05 00 00 00 00 00 00 00", "30 06 30 04 30 02 05 00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := toDER(unhex(t, tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("toDER = % x\nwant      % x", got, want)
			}
		})
	}
}

func TestToDERErrors(t *testing.T) {
	deep := strings.Repeat("30 80 ", maxDepth+2) + strings.Repeat("00 00 ", maxDepth+2)
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"header-only", "30"},
		{"missing-eoc", "30 80 02 01 05"},
		{"primitive-indefinite", "04 80 aa 00 00"},
		{"top-level-eoc", "00 00"},
		{"eoc-with-length", "30 80 00 01 00 00 00"},
		{"trailing", "05 00 05 00"},
		{"too-deep", deep},
		{"length-past-end", "04 05 aa"},
		{"five-byte-length", "04 85 00 00 00 00 01 aa"},
		{"reserved-length", "04 ff"},
		{"bit-string-unused-bits-in-middle", "23 80 03 02 04 a0 03 02 00 aa 00 00"},
		{"bit-string-empty-segment", "23 80 03 00 00 00"},
		{"wrong-segment-tag", "24 80 02 01 00 00 00"},
		{"huge-tag", "1f ff ff ff ff 7f 00"},
		{"truncated-tag", "1f 81"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := toDER(unhex(t, tc.in)); !errors.Is(err, errBER) {
				t.Fatalf("toDER = % x, %v; want errBER", out, err)
			}
		})
	}
}

// DER input comes back unchanged; BER made from it converts back to the same DER.
func TestToDERRoundTrip(t *testing.T) {
	for _, f := range []string{"testdata/example.p12", "testdata/example-legacy.p12"} {
		der, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := toDER(der)
		if err != nil || !bytes.Equal(got, der) {
			t.Fatalf("%s: toDER(DER) changed the input (err %v)", f, err)
		}
		got, err = toDER(berify(t, der))
		if err != nil || !bytes.Equal(got, der) {
			t.Fatalf("%s: toDER(berify(DER)) != DER (err %v)", f, err)
		}
	}
}

// sha256Baseline measures crypto/sha256 over data (ns per hash), the yardstick the benchmarks
// report against. testing.Benchmark cannot be nested in a benchmark, so this times a loop of
// at least 50ms itself.
func sha256Baseline(data []byte) float64 {
	n := 0
	start := time.Now()
	for n < 1000 || time.Since(start) < 50*time.Millisecond {
		sha256.Sum256(data)
		n++
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// reportRatio reports b's time per operation as a multiple of base's ("x-sha256").
func reportRatio(b *testing.B, base float64) {
	if b.N > 0 && base > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/base, "x-sha256")
	}
}

func BenchmarkToDER(b *testing.B) {
	der, err := os.ReadFile("testdata/example.p12")
	if err != nil {
		b.Fatal(err)
	}
	ber := berify(b, der)
	base := sha256Baseline(ber)
	b.SetBytes(int64(len(ber)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := toDER(ber); err != nil {
			b.Fatal(err)
		}
	}
	reportRatio(b, base)
}

// BenchmarkDecode reads the legacy example store (3DES key, RC2-40 certificates, 64 iterations).
func BenchmarkDecode(b *testing.B) {
	pfx, err := os.ReadFile("testdata/example-legacy.p12")
	if err != nil {
		b.Fatal(err)
	}
	base := sha256Baseline(pfx)
	b.SetBytes(int64(len(pfx)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := Decode(pfx, "example"); err != nil {
			b.Fatal(err)
		}
	}
	reportRatio(b, base)
}
