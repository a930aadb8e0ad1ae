package invocation_test

import (
	"testing"

	"github.com/trifirma/trifirma/invocation"
	"github.com/trifirma/trifirma/invocation/cipher"
)

// FuzzParseResult: no panic on any stored text, with and without a key.
func FuzzParseResult(f *testing.F) {
	f.Add("6.KSCk4xRsiiul5vrlTW0tQw==|6.KSCk4xRsiiul5vrlTW0tQw==")
	f.Add("err-11:=ABCDEFGH - x")
	f.Add("#WAIT")
	f.Add("SAF_03")
	f.Add("a|b|c|d")
	des, _ := cipher.NewDES("12345678")
	f.Fuzz(func(t *testing.T, text string) {
		for _, op := range []invocation.Operation{invocation.OpSign, invocation.OpBatch, invocation.OpSelectCert, invocation.OpLoad} {
			_, _ = invocation.ParseResult(op, text, des)
			_, _ = invocation.ParseResult(op, text, nil)
		}
	})
}

// FuzzParse: any URL that parses writes back to a URL that parses to the same parameters.
func FuzzParse(f *testing.F) {
	f.Add("afirma://sign/?ver=3&op=sign&id=x&key=1&properties=a%3D&aw=true")
	f.Add("afirma://service?ports=1,2&v=1")
	f.Add("afirma://x?a=%zz")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := invocation.Parse(s)
		if err != nil {
			return
		}
		v, err := invocation.Parse(u.String())
		if err != nil || v.Op != u.Op || len(v.Params) != len(u.Params) {
			t.Fatalf("%q -> %q: %+v, %v", s, u.String(), v, err)
		}
		for i := range u.Params {
			if u.Params[i] != v.Params[i] {
				t.Fatalf("param %d: %+v != %+v", i, u.Params[i], v.Params[i])
			}
		}
	})
}
