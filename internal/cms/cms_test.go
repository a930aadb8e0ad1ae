package cms

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// berify re-encodes DER as BER the way Java/BouncyCastle streams do: every constructed element
// with an indefinite length, and OCTET STRINGs longer than chunk split into a constructed
// string of chunk-sized segments.
func berify(t testing.TB, der []byte, chunk int) []byte {
	t.Helper()
	var out []byte
	var walk func(b []byte) []byte
	walk = func(b []byte) []byte {
		n, rest, err := (&berReader{}).parse(b, 0)
		if err != nil {
			t.Fatal(err)
		}
		tag := n.tag[0]
		switch {
		case n.constructed:
			out = append(out, tag, 0x80)
			c := n.full[len(n.full)-n.contentLen():]
			for len(c) > 0 {
				c = walk(c)
			}
			out = append(out, 0, 0)
		case tag == TagOctetString && n.contentLen() > chunk:
			out = append(out, 0x24, 0x80)
			c := n.chunks[0]
			for len(c) > 0 {
				k := min(chunk, len(c))
				out = AppendHeader(out, TagOctetString, k)
				out = append(out, c[:k]...)
				c = c[k:]
			}
			out = append(out, 0, 0)
		default:
			out = append(out, n.full...)
		}
		return rest
	}
	walk(der)
	return out
}

func TestToDERKeepsDER(t *testing.T) {
	der := Seq(OIDElem(OIDData), Cons(TagContext0, OctetString([]byte("hello")))).Bytes()
	got, err := ToDER(der)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &der[0] || len(got) != len(der) {
		t.Fatal("DER input was copied")
	}
}

func TestToDER(t *testing.T) {
	cases := []struct {
		name    string
		in, out []byte
	}{
		{"indefinite sequence", []byte{0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00}, []byte{0x30, 0x03, 0x02, 0x01, 0x05}},
		{"long-form short length", []byte{0x04, 0x81, 0x02, 'h', 'i'}, []byte{0x04, 0x02, 'h', 'i'}},
		{"segmented octet string", []byte{0x24, 0x80, 0x04, 0x01, 'a', 0x24, 0x03, 0x04, 0x01, 'b', 0x04, 0x00, 0x00, 0x00}, []byte{0x04, 0x02, 'a', 'b'}},
		{"nested indefinite", []byte{0x30, 0x80, 0xa0, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00}, []byte{0x30, 0x04, 0xa0, 0x02, 0x05, 0x00}},
		{"set order kept", []byte{0x31, 0x80, 0x02, 0x01, 0x09, 0x02, 0x01, 0x01, 0x00, 0x00}, []byte{0x31, 0x06, 0x02, 0x01, 0x09, 0x02, 0x01, 0x01}},
	}
	for _, c := range cases {
		got, err := ToDER(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !bytes.Equal(got, c.out) {
			t.Fatalf("%s: % x, want % x", c.name, got, c.out)
		}
	}
}

func TestToDERRejects(t *testing.T) {
	deep := bytes.Repeat([]byte{0x30, 0x80}, MaxDepth+2)
	many := make([]byte, 0, 2*(MaxElements+1)+4)
	many = append(many, 0x30, 0x84)
	body := bytes.Repeat([]byte{0x05, 0x00}, MaxElements+1)
	many = append(many, byte(len(body)>>24), byte(len(body)>>16), byte(len(body)>>8), byte(len(body)))
	many = append(many, body...)
	for name, in := range map[string][]byte{
		"empty":                 {},
		"truncated header":      {0x30},
		"length beyond input":   {0x30, 0x05, 0x02, 0x01},
		"indefinite primitive":  {0x04, 0x80, 0x00, 0x00},
		"missing EOC":           {0x30, 0x80, 0x02, 0x01, 0x01},
		"trailing":              {0x05, 0x00, 0x00},
		"deep":                  deep,
		"too many elements":     many,
		"huge length":           {0x04, 0x88, 1, 0, 0, 0, 0, 0, 0, 0},
		"bad segment":           {0x24, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00},
		"unterminated high tag": {0x1f, 0x81},
	} {
		if _, err := ToDER(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestParseSignedDataBER(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 500)
	si := Seq(Raw([]byte{2, 1, 1}), Seq(Raw([]byte{0x30, 0}), Raw([]byte{2, 1, 7})), Seq(OIDElem(OIDSHA256)),
		Seq(OIDElem(OIDRSAEncryption), Null()), OctetString([]byte("sig"))).Bytes()
	sd := NewSignedData(OIDData, content, true)
	if err := sd.AddDigestAlgorithm(crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	sd.AddSignerInfo(si)
	der := sd.Encode()
	ber := berify(t, der, 1000)
	if bytes.Equal(ber, der) {
		t.Fatal("berify did nothing")
	}
	p, err := ParseSignedData(ber)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Content) != 5 || !bytes.Equal(bytes.Join(p.Content, nil), content) {
		t.Fatalf("content in %d pieces", len(p.Content))
	}
	if !bytes.Equal(p.Encode(), der) {
		t.Fatal("BER input did not re-encode to the original DER")
	}
	if len(p.SignerInfos) != 1 || !bytes.Equal(p.SignerInfos[0].Raw, si) {
		t.Fatal("SignerInfo not preserved")
	}
}

func TestEncodeDedupAndVersion(t *testing.T) {
	sd := NewSignedData(asn1.ObjectIdentifier{1, 2, 3}, nil, false)
	sd.Certificates = [][]byte{{0x30, 0x03, 2, 1, 2}, {0x30, 0x03, 2, 1, 1}, {0x30, 0x03, 2, 1, 2}}
	// No SignerInfo is legal CMS (a certificates-only message).
	p, err := ParseSignedData(sd.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Certificates) != 2 || !bytes.Equal(p.Certificates[0], []byte{0x30, 0x03, 2, 1, 1}) || p.Version != 3 {
		t.Fatalf("certificates %x version %d", p.Certificates, p.Version)
	}
}

// FuzzToDER checks that the converter never panics, that its output is DER it accepts
// unchanged, and that it is idempotent.
func FuzzToDER(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := ToDER(b)
		if err != nil {
			return
		}
		again, err := ToDER(out)
		if err != nil {
			t.Fatalf("output not accepted: %v", err)
		}
		if !bytes.Equal(again, out) {
			t.Fatal("not idempotent")
		}
	})
}

// FuzzParseSignedData checks that the CMS reader never panics and that what it accepts it can
// re-encode and read back with the same signers.
func FuzzParseSignedData(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := ParseSignedData(b)
		if err != nil {
			return
		}
		n := 0
		_ = sd.Walk(func(si *SignerInfo, _ int) error {
			n++
			_, _ = si.MessageDigest()
			_ = si.SignedBytes()
			return nil
		})
		grow := len(sd.SignerInfos) > 0 && depthOf(sd.SignerInfos[0]) < 8
		if grow {
			sd.SignerInfos[0].AddCounterSignature(sd.SignerInfos[0].Raw)
		}
		out := sd.Encode()
		sd2, err := ParseSignedData(out)
		if err != nil {
			t.Fatalf("re-encoded SignedData does not parse: %v", err)
		}
		m := 0
		_ = sd2.Walk(func(*SignerInfo, int) error { m++; return nil })
		want := n
		if grow {
			want += 1 + countTree(sd.SignerInfos[0])
		}
		if m != want {
			t.Fatalf("signers %d after re-encoding, want %d", m, want)
		}
	})
}

func depthOf(si *SignerInfo) int {
	d := 0
	for _, c := range si.CounterSignatures {
		d = max(d, 1+depthOf(c))
	}
	return d
}

func countTree(si *SignerInfo) int {
	n := 0
	for _, c := range si.CounterSignatures {
		n += 1 + countTree(c)
	}
	return n
}

// addSeeds adds the committed corpus files (testdata/fuzz/<name>/ is read by go test itself)
// plus the reference signatures when TRIFIRMA_SHARED is set.
func addSeeds(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0x00, 0x00})
	if d := os.Getenv("TRIFIRMA_SHARED"); d != "" {
		files, _ := filepath.Glob(filepath.Join(d, "refdata", "cades", "*.csig"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
}
