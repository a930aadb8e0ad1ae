package cms

import (
	"bytes"
	"encoding/asn1"
	"testing"
)

// TestAppendOIDMatchesASN1 checks the reflection-free encoder against encoding/asn1.
func TestAppendOIDMatchesASN1(t *testing.T) {
	for _, oid := range []asn1.ObjectIdentifier{
		{1, 2, 840, 113549, 1, 9, 16, 2, 47}, {2, 16, 840, 1, 101, 3, 4, 2, 1}, {0, 0}, {1, 39},
		{2, 999, 3}, {2, 5, 29, 15}, {1, 3, 6, 1, 4, 1, 311, 2, 1, 21}, {2, 0x7fffffff}, {1, 2, 1 << 40},
	} {
		want, err := asn1.Marshal(oid)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendOID(nil, oid)
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("%v: got %x, %v; want %x", oid, got, ok, want)
		}
	}
	// Malformed identifiers are refused (encoding/asn1 also refuses the first three; it
	// encodes negative arcs as garbage).
	for _, oid := range []asn1.ObjectIdentifier{{1}, {3, 1}, {1, 40}, {1, 2, -1}, {-1, 2}} {
		if _, ok := appendOID(nil, oid); ok {
			t.Errorf("%v: accepted", oid)
		}
	}
}
