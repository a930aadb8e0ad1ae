package xmldom

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	cases := []struct {
		name, doc string
		want      error
	}{
		{"empty", "", nil},
		{"text only", "hello", nil},
		{"doctype", `<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`, ErrDTD},
		{"doctype system", `<?xml version="1.0"?><!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>`, ErrDTD},
		{"undefined entity", `<a>&x;</a>`, nil},
		{"bare ampersand", `<a>a & b</a>`, nil},
		{"unclosed", `<a><b></a>`, nil},
		{"two roots", `<a/><b/>`, nil},
		{"text after root", `<a/>x`, nil},
		{"lt in attribute", `<a b="<"/>`, nil},
		{"duplicate attribute", `<a b="1" b="2"/>`, nil},
		{"duplicate expanded", `<a xmlns:p="u:1" xmlns:q="u:1" p:b="1" q:b="2"/>`, nil},
		{"unbound prefix", `<p:a/>`, nil},
		{"unbound attr prefix", `<a p:b="1"/>`, nil},
		{"undeclare prefix", `<a xmlns:p=""/>`, nil},
		{"bind xml wrongly", `<a xmlns:xml="urn:x"/>`, nil},
		{"bind xmlns", `<a xmlns:xmlns="urn:x"/>`, nil},
		{"xml 1.1", `<?xml version="1.1"?><a/>`, nil},
		{"bad char ref", `<a>&#0;</a>`, nil},
		{"bad char", "<a>\x01</a>", nil},
		{"bad utf8", "<a>\xff</a>", nil},
		{"cdata end in text", `<a>]]></a>`, nil},
		{"double hyphen comment", `<a><!-- a -- b --></a>`, nil},
		{"pi xml late", `<a><?xml version="1.0"?></a>`, nil},
		{"bad name", `<1a/>`, nil},
		{"bad qname", `<a:b:c xmlns:a="u:a"/>`, nil},
		{"unsupported encoding", `<?xml version="1.0" encoding="EBCDIC"?><a/>`, nil},
		{"mismatched encoding", "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>", nil},
		{"latin1 undefined in cp1252", "<?xml version=\"1.0\" encoding=\"windows-1252\"?><a>\x81</a>", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse([]byte(c.doc), Limits{})
			if err == nil {
				t.Fatalf("accepted %q (root %v)", c.doc, d.Root())
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("error %v does not wrap %v", err, c.want)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	deep := strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300)
	if _, err := Parse([]byte(deep), Limits{}); !errors.Is(err, ErrLimit) {
		t.Errorf("deep nesting: %v", err)
	}
	many := "<r>" + strings.Repeat("<e/>", 50) + "</r>"
	if _, err := Parse([]byte(many), Limits{MaxElements: 10}); !errors.Is(err, ErrLimit) {
		t.Errorf("element count: %v", err)
	}
	if _, err := Parse([]byte(many), Limits{MaxBytes: 20}); !errors.Is(err, ErrLimit) {
		t.Errorf("size: %v", err)
	}
	attrs := "<a" + strings.Repeat(" x", 0)
	for i := 0; i < 20; i++ {
		attrs += " a" + string(rune('a'+i)) + `="1"`
	}
	attrs += "/>"
	if _, err := Parse([]byte(attrs), Limits{MaxAttrs: 5}); !errors.Is(err, ErrLimit) {
		t.Errorf("attributes: %v", err)
	}
}

func TestParseModel(t *testing.T) {
	src := "<?xml version=\"1.0\"?>\r\n<r xmlns=\"urn:r\" xmlns:p=\"urn:p\" a=\"x\ty\r\nz\" b=\"&#9;&#10;\" Id=\"r1\">t&amp;\r\nu<p:c xml:id=\"c1\" p:d=\"1\"/><![CDATA[<&>]]><!--c--><?pi  data ?></r>"
	d, err := Parse([]byte(src), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r := d.Root()
	if r.Space != "urn:r" || r.Name != "r" || len(r.NS) != 2 {
		t.Fatalf("root %+v", r)
	}
	if v := r.AttrValue("a"); v != "x y z" {
		t.Errorf("attribute normalisation: %q", v)
	}
	if v := r.AttrValue("b"); v != "\t\n" {
		t.Errorf("character references in attributes: %q", v)
	}
	if r.FirstChild.Data != "t&\nu" {
		t.Errorf("text %q", r.FirstChild.Data)
	}
	c := r.FirstChild.Next
	if !c.Is("urn:p", "c") || c.Attrs[1].Space != "urn:p" {
		t.Errorf("prefixed child %+v", c)
	}
	if got := d.ElementsByID("c1"); len(got) != 1 || got[0] != c {
		t.Errorf("xml:id lookup %v", got)
	}
	if got := d.ElementsByID("r1"); len(got) != 1 || got[0] != r {
		t.Errorf("Id lookup %v", got)
	}
	cd := c.Next
	if !cd.CDATA || cd.Data != "<&>" {
		t.Errorf("cdata %+v", cd)
	}
	if pi := cd.Next.Next; pi.Kind != ProcInstNode || pi.Name != "pi" || pi.Data != "data " {
		t.Errorf("pi %+v", pi)
	}
	if d.Source[r.Start:r.InnerStart] != "<r xmlns=\"urn:r\" xmlns:p=\"urn:p\" a=\"x\ty\r\nz\" b=\"&#9;&#10;\" Id=\"r1\">" {
		t.Errorf("offsets: %q", d.Source[r.Start:r.InnerStart])
	}
	if d.Source[r.InnerEnd:r.End] != "</r>" || d.Source[c.Start:c.End] != `<p:c xml:id="c1" p:d="1"/>` {
		t.Errorf("end offsets")
	}
}

func TestEncodings(t *testing.T) {
	text := "<?xml version=\"1.0\" encoding=\"%s\"?><a b=\"\u00f1\">\u00e9\u20ac</a>"
	for _, enc := range []string{EncUTF8, EncWindows1252, EncLatin9, EncUTF16LE, EncUTF16BE} {
		label := enc
		if enc == EncUTF16LE || enc == EncUTF16BE {
			label = "UTF-16"
		}
		src := strings.Replace(text, "%s", label, 1)
		raw := EncodeText([]byte(src), enc, enc != EncUTF8)
		d, err := Parse(raw, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", enc, err)
		}
		if d.Encoding != enc || d.Root().Text() != "\u00e9\u20ac" || d.Source != src {
			t.Fatalf("%s: decoded %q as %s", enc, d.Source, d.Encoding)
		}
		if got := d.Encode([]byte(d.Source)); string(got) != string(raw) {
			t.Fatalf("%s: round trip differs", enc)
		}
	}
	// Latin-1 cannot hold the euro sign: the encoder writes a character reference.
	got := EncodeText([]byte("<a>\u20ac\u00e9</a>"), EncLatin1, false)
	if string(got) != "<a>&#x20AC;\xe9</a>" {
		t.Fatalf("latin-1 encode: %q", got)
	}
}
