package c14n

import (
	"bytes"
	"errors"
	"testing"

	"github.com/trifirma/trifirma/internal/xmldom"
)

// FuzzCanonicalize checks that canonicalisation never panics and is idempotent: the
// canonical form parses, and canonicalising it again gives the same bytes.
func FuzzCanonicalize(f *testing.F) {
	for _, c := range diffCases {
		f.Add([]byte(c.doc), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		d, err := xmldom.Parse(data, xmldom.Limits{MaxDepth: 64, MaxElements: 10000})
		if err != nil {
			return
		}
		v := variants[int(sel)%len(variants)]
		out, err := Bytes(&d.Node, v.alg, nil)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		d2, err := xmldom.Parse(out, xmldom.Limits{})
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%q", err, out)
		}
		out2, err := Bytes(&d2.Node, v.alg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("not idempotent:\n%q\n%q", out, out2)
		}
		// Any element as apex must canonicalise too.
		if r := d.Root(); r != nil && r.FirstChild != nil && r.FirstChild.Kind == xmldom.ElementNode {
			if _, err := Bytes(r.FirstChild, v.alg, nil); err != nil && !errors.Is(err, ErrUnsupported) {
				t.Fatal(err)
			}
		}
	})
}
