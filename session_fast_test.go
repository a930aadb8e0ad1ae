package trifirma

import (
	"reflect"
	"testing"
)

// FuzzFastSessionParser checks that whatever the fast path accepts, the general parser accepts
// with the same result.
func FuzzFastSessionParser(f *testing.F) {
	seeds := []string{
		"<xml>\n <firmas format=\"CAdES\">\n  <firma Id=\"a&amp;b\" signid=\"s\">\n   <param n=\"PRE\">MYIB&#x41;A==</param>\n   <param n=\"NEED_PRE\">true</param>\n  </firma>\n </firmas>\n</xml>",
		`<?xml version="1.0" encoding="UTF-8"?><!-- c --><r a='1'><FIRMAS><f><param n="x"/><param n='y'> v </param></f></FIRMAS><other><deep><er/></deep></other></r>`,
		"<xml><firmas><firma><param n=\"a\"><b/></param></firma></firmas></xml>",
		"<xml><nofirmas/></xml>",
		"<xml><firmas/></xml><!-- after -->",
		`<x><firmas><s><p n="&quot;&apos;&lt;&gt;&#65;&#x42;">&#9;t&#10;</p></s></firmas></x>`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := parseTriphaseDataFast(data)
		if !ok {
			return
		}
		slow, err := parseTriphaseDataXML(data)
		if err != nil {
			t.Fatalf("fast path accepted what the XML parser refuses (%v):\n%q", err, data)
		}
		if !reflect.DeepEqual(normalise(fast), normalise(slow)) {
			t.Fatalf("results differ for %q:\nfast %+v\nslow %+v", data, fast.Marshal(), slow.Marshal())
		}
	})
}

func normalise(td *TriphaseData) *TriphaseData {
	for _, s := range td.Signs {
		if len(s.Params) == 0 {
			s.Params = nil
		}
	}
	return td
}

func TestFastSessionParserSeeds(t *testing.T) {
	for _, s := range []string{
		"<xml>\n <firmas format=\"CAdES\">\n  <firma Id=\"a\">\n   <param n=\"PRE\">MYIB</param>\n  </firma>\n </firmas>\n</xml>",
	} {
		fast, ok := parseTriphaseDataFast([]byte(s))
		if !ok {
			t.Fatalf("fast path refused %q", s)
		}
		slow, err := parseTriphaseDataXML([]byte(s))
		if err != nil || !reflect.DeepEqual(fast, slow) {
			t.Fatalf("differ: %+v %+v %v", fast, slow, err)
		}
	}
}
