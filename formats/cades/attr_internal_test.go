package cades

import (
	"bytes"
	"encoding/asn1"
	"testing"

	"github.com/trifirma/trifirma/internal/cms"
)

// TestAttrFastPath checks the one-value attribute writer against the element tree it replaces,
// across the length forms (short, one- and two-byte long lengths).
func TestAttrFastPath(t *testing.T) {
	for _, oid := range []asn1.ObjectIdentifier{cms.OIDAttrMessageDigest, cms.OIDAttrSigningTime, {1, 2, 840, 113549, 1, 9, 16, 2, 47}} {
		for _, n := range []int{0, 1, 20, 32, 64, 100, 127, 128, 200, 255, 256, 1000, 70000} {
			v := cms.OctetString(bytes.Repeat([]byte{0xa5}, n))
			want := cms.Seq(cms.OIDElem(oid), cms.SetOf(cms.TagSet, [][]byte{v.Bytes()}, false)).Bytes()
			if got := attr(oid, v); !bytes.Equal(got, want) {
				t.Fatalf("%v, %d-byte value: %x, want %x", oid, n, got[:min(len(got), 16)], want[:min(len(want), 16)])
			}
		}
	}
}
