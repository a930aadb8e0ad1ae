package pkcs12

import (
	"bytes"
	"crypto"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the committed fuzz seeds under testdata/fuzz")

// FuzzDecode: no panic, and a key is only ever returned with a chain whose leaf matches it.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"example.p12", "example-legacy.p12"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b, "example")
		}
	}
	old := maxIterations
	maxIterations = 4096 // keep each input fast; real stores are tested elsewhere
	f.Cleanup(func() { maxIterations = old })
	f.Fuzz(func(t *testing.T, pfx []byte, password string) {
		key, chain, err := Decode(pfx, password)
		if err != nil {
			if key != nil || chain != nil {
				t.Fatal("key or chain returned with an error")
			}
			return
		}
		if key == nil || len(chain) == 0 {
			t.Fatal("nil key or empty chain without an error")
		}
		if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(chain[0].PublicKey) {
			t.Fatal("key does not match chain[0]")
		}
	})
}

// FuzzToDER: no panic, and the output is DER (converting it again changes nothing).
func FuzzToDER(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x24, 0x80, 0x04, 0x01, 0xaa, 0x00, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		der, err := toDER(b)
		if err != nil {
			return
		}
		again, err := toDER(der)
		if err != nil {
			t.Fatalf("toDER output does not parse: %v", err)
		}
		if !bytes.Equal(again, der) {
			t.Fatalf("toDER is not idempotent:\n% x\n% x", der, again)
		}
	})
}

// TestFuzzSeeds rewrites the committed seed corpora with -update (BER variants of the example
// stores among them) and otherwise checks that they exist.
func TestFuzzSeeds(t *testing.T) {
	type seed struct {
		name string
		args []any
	}
	var decodeSeeds, derSeeds []seed
	for _, name := range []string{"example.p12", "example-legacy.p12"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		ber := berify(t, b)
		decodeSeeds = append(decodeSeeds,
			seed{name, []any{b, "example"}},
			seed{name + "-ber", []any{ber, "example"}},
			seed{name + "-wrong-password", []any{ber, "wrong"}})
		derSeeds = append(derSeeds, seed{name + "-ber", []any{ber}})
	}
	write := func(fuzzer string, seeds []seed) {
		dir := filepath.Join("testdata", "fuzz", fuzzer)
		for _, s := range seeds {
			path := filepath.Join(dir, s.name)
			if !*update {
				if _, err := os.Stat(path); err != nil {
					t.Errorf("missing seed %s (run go test -run TestFuzzSeeds -update)", path)
				}
				continue
			}
			var buf bytes.Buffer
			buf.WriteString("go test fuzz v1\n")
			for _, a := range s.args {
				switch v := a.(type) {
				case []byte:
					fmt.Fprintf(&buf, "[]byte(%s)\n", strconv.Quote(string(v)))
				case string:
					fmt.Fprintf(&buf, "string(%s)\n", strconv.Quote(v))
				}
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("FuzzDecode", decodeSeeds)
	write("FuzzToDER", derSeeds)
}
