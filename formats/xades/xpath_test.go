package xades

import (
	"testing"

	"github.com/trifirma/trifirma/internal/xmldom"
)

func TestSelectXPath(t *testing.T) {
	d, err := xmldom.Parse([]byte(`<r xmlns:p="urn:p"><a/><b Id="x"><c/></b><b><c n="2"/></b><p:d/></r>`), xmldom.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"/r":                     "r",
		"/r/b":                   "b",
		"/r/b[2]/c":              "c",
		"//c[@n='2']":            "c",
		"//*[@Id=\"x\"]":         "b",
		"/*/*[local-name()='d']": "p:d",
		"//p:d":                  "p:d",
		"/r/zz":                  "",
		"//b[3]":                 "",
	}
	for expr, want := range cases {
		n, err := selectXPath(d, expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		got := ""
		if n != nil {
			got = n.Name
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", expr, got, want)
		}
	}
	for _, bad := range []string{"r/b", "count(//a)", "/r[", "//b[position()<2]", "/r/@a"} {
		if _, err := selectXPath(d, bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// FuzzSelectXPath checks that the XPath subset never panics.
func FuzzSelectXPath(f *testing.F) {
	d, err := xmldom.Parse([]byte(`<r xmlns:p="urn:p"><a/><b Id="x"><c/></b><p:d p:e="1"/></r>`), xmldom.Limits{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("/r/b")
	f.Fuzz(func(t *testing.T, expr string) {
		n, err := selectXPath(d, expr)
		if err == nil && n != nil && n.Kind != xmldom.ElementNode {
			t.Fatalf("%q selected a non-element", expr)
		}
	})
}
