package validate

import (
	"bytes"
	"testing"
)

// FuzzScanXML: scanXML never panics and its per-signature slices match the signature count.
func FuzzScanXML(f *testing.F) {
	f.Add([]byte(`<a xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><b Id="x"/><ds:Signature Id="s"><ds:SignedInfo><ds:Reference URI="#x"/></ds:SignedInfo></ds:Signature></a>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		info, err := scanXML(doc)
		if err != nil {
			return
		}
		if len(info.firstCert) != info.signatures || len(info.envAfterCx) != info.signatures {
			t.Fatalf("inconsistent info %+v", info)
		}
		for _, a := range info.idAttrs {
			if !bytes.Contains([]byte(a), []byte(" ")) {
				t.Fatalf("id-attr %q without a node name", a)
			}
		}
	})
}
