package c14n

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trifirma/trifirma/internal/xmldom"
)

// diffCase is an input of the differential tests. id names an element (by its Id attribute)
// canonicalised as a subset; idElem is its "ns:name" for xmlsec1's --id-attr.
type diffCase struct {
	name   string
	doc    string
	enc    string // "" (as written), ISO-8859-1, windows-1252, UTF-16LE, UTF-16BE
	bom    bool
	id     string
	idElem string
	// insertAt names the element (by Id) before whose end tag the signature template goes
	// (default: the document element).
	insertAt string
}

var diffCases = []diffCase{
	{name: "attr-whitespace", doc: "<a b=\"x\ty\nz\r\nw\rv\" c=\"&#9;&#10;&#13;&#x20;\" d=\"  sp  \" e='q\"&apos;&lt;&gt;&amp;'><t Id=\"t1\" v=\"1\t2\"/></a>", id: "t1", idElem: "t"},
	{name: "crlf-text", doc: "<a>line1\r\nline2\rline3&#13;&#xD;\r\n<b Id=\"x\">in\r\nside\r</b>\n</a>\r\n", id: "x", idElem: "b"},
	{name: "namespaces", doc: `<a xmlns="urn:d" xmlns:p="urn:p"><p:b xmlns:p="urn:p" xmlns:q="urn:q" Id="nb"><c xmlns=""><d xmlns="urn:d" q:at="1"/></c><q:e/></p:b></a>`, id: "nb", idElem: "urn:p:b"},
	{name: "default-undeclare", doc: `<r xmlns="urn:r"><x xmlns=""><y Id="y1"><z xmlns="urn:z"/></y></x></r>`, id: "y1", idElem: "y"},
	{name: "comments-pis", doc: "<?pi before?>\n<!--c1-->\n<a><!-- in --><?pi2 data ?><b Id=\"b\"><!--deep--><?p3?></b></a>\n<!--after-->\n<?pi3?>\n", id: "b", idElem: "b"},
	{name: "cdata", doc: `<a><![CDATA[<x>&amp; ]]]]><![CDATA[>]]><b Id="c"><![CDATA[ ]]>&lt;<![CDATA[
]]></b></a>`, id: "c", idElem: "b"},
	{name: "char-refs", doc: "<a t=\"&#x10FFFF;&#169;\">&#x10FFFF;&#169;&lt;&gt;&amp;&quot;&apos; > ]] &#x3E;<b Id=\"r\">\u00e9\U0001F600</b></a>", id: "r", idElem: "b"},
	{name: "attr-sort", doc: `<a xmlns:z="urn:a" xmlns:b="urn:b" b:x="1" z:y="2" c="3" a="4" z:a="5"><k Id="k" xmlns:m="urn:a" m:b="6" z:c="7"/></a>`, id: "k", idElem: "k"},
	{name: "xml-attrs", doc: `<a xml:lang="en" xml:space="default" xml:base="http://e.com/a/b/"><b xml:space="preserve" xml:base="sub/"><c Id="t" xml:id="xid"><d xml:lang="es"/></c></b></a>`, id: "t", idElem: "c"},
	{name: "xml-base-dots", doc: `<a xml:base="http://e.com/x/y/"><b xml:base="../z/"><c xml:base="./w/q.x"><e Id="e"/></c></b></a>`, id: "e", idElem: "e"},
	{name: "xml-base-query", doc: `<a xml:base="http://e.com/a/b?q=1#f"><b xml:base="c/d#g"><c xml:base="../e"><e Id="e"/></c></b><f xml:base="?x"><g Id="g2"/></f></a>`, id: "e", idElem: "e"},
	{name: "xml-base-relative-chain", doc: `<a xml:base="x/y/"><b xml:base="../z"><c xml:base=""><e Id="e" xml:base="w.xml"/></c></b></a>`, id: "e", idElem: "e"},
	{name: "empty-and-spaces", doc: "<a  b = \"1\"  ><e/><f></f><g\n/></a >", id: "", idElem: ""},
	{name: "superfluous-ns", doc: `<a xmlns:p="urn:p" xmlns:x="urn:x"><p:b xmlns:p="urn:p"><c xmlns:x="urn:x2" Id="c"><x:d xmlns:x="urn:x2"/></c></p:b></a>`, id: "c", idElem: "c"},
	{name: "exclusive-usage", doc: `<r xmlns:u="urn:u" xmlns:n="urn:n" xmlns="urn:def"><s Id="s" u:a="1"><n:t><v xmlns=""/></n:t></s></r>`, id: "s", idElem: "urn:def:s"},
	{name: "iso-8859-1", doc: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<factura pa\u00eds=\"Espa\u00f1a\">Se\u00f1or \u00c1lvarez \u00b1 \u00bf<i Id=\"i\">\u00fc\u00df</i></factura>", enc: xmldom.EncLatin1, id: "i", idElem: "i"},
	{name: "windows-1252", doc: "<?xml version=\"1.0\" encoding=\"windows-1252\"?><a v=\"\u20ac\">\u20ac \u2019 \u0152<b Id=\"b\">\u201c\u201d</b></a>", enc: xmldom.EncWindows1252, id: "b", idElem: "b"},
	{name: "utf16le-bom", doc: "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<a x=\"\u00e9\">\u65e5\u672c\U0001F600<b Id=\"b\">z</b></a>", enc: xmldom.EncUTF16LE, bom: true, id: "b", idElem: "b"},
	{name: "utf16be-bom", doc: "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>\u00f1<b Id=\"b\">\u00e7</b></a>", enc: xmldom.EncUTF16BE, bom: true, id: "b", idElem: "b"},
	{name: "utf8-bom", doc: "<?xml version='1.0' encoding='utf-8' standalone='yes'?><a>\u00e9<b Id=\"b\"/></a>", bom: true, id: "b", idElem: "b"},
	{name: "enveloped-inherited-ns", doc: `<?xml version="1.0" encoding="UTF-8"?><fe:Facturae xmlns:fe="http://www.facturae.es/Facturae/2009/v3.2/Facturae" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xml:lang="es"><Parties Id="p"><Seller>ACME</Seller></Parties></fe:Facturae>`, id: "p", idElem: "Parties"},
	{name: "nested-default-insert", doc: `<root xmlns="urn:root" xmlns:a="urn:a" xml:lang="de"><a:holder xmlns="urn:inner" Id="h"><item>1</item></a:holder></root>`, id: "h", idElem: "urn:a:holder", insertAt: "h"},
	{name: "deep-prefix-reuse", doc: `<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"><p:c xmlns:p="urn:1" Id="c"><p:d/></p:c></p:b></p:a>`, id: "c", idElem: "urn:1:c"},
	{name: "whitespace-outside", doc: "\n<a>\n  <b Id=\"b\">  t  </b>\n</a>\n\n", id: "b", idElem: "b"},
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func encodeCase(c diffCase) []byte {
	return xmldom.EncodeText([]byte(c.doc), c.enc, c.bom)
}

func runTool(t *testing.T, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.Bytes(), fmt.Errorf("%s %v: %v: %s", name, args, err, errb.String())
	}
	return out.Bytes(), nil
}

// TestDiffXmllintWholeDocument compares whole-document canonicalisation (with comments, the
// only variants xmllint offers) with libxml2.
func TestDiffXmllintWholeDocument(t *testing.T) {
	xmllint := needTool(t, "xmllint")
	dir := t.TempDir()
	for _, c := range diffCases {
		t.Run(c.name, func(t *testing.T) {
			raw := encodeCase(c)
			f := filepath.Join(dir, c.name+".xml")
			if err := os.WriteFile(f, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			doc, err := xmldom.Parse(raw, xmldom.Limits{})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for _, m := range []struct {
				flag string
				alg  Algorithm
			}{
				{"--c14n", Algorithm{Method: Inclusive10, Comments: true}},
				{"--c14n11", Algorithm{Method: Inclusive11, Comments: true}},
				{"--exc-c14n", Algorithm{Method: Exclusive10, Comments: true}},
			} {
				want, err := runTool(t, xmllint, m.flag, f)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Bytes(&doc.Node, m.alg, nil)
				if err != nil {
					t.Fatalf("%s: %v", m.flag, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from libxml2:\n got %q\nwant %q", m.flag, got, want)
				}
			}
		})
	}
}

var (
	keyOnce sync.Once
	keyPEM  []byte
)

func testKeyFile(t *testing.T, dir string) string {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	})
	f := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(f, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

type variant struct {
	name string
	alg  Algorithm
}

var variants = []variant{
	{"c14n10", Algorithm{Method: Inclusive10}},
	{"c14n10-comments", Algorithm{Method: Inclusive10, Comments: true}},
	{"c14n11", Algorithm{Method: Inclusive11}},
	{"c14n11-comments", Algorithm{Method: Inclusive11, Comments: true}},
	{"exc", Algorithm{Method: Exclusive10}},
	{"exc-comments", Algorithm{Method: Exclusive10, Comments: true}},
	{"exc-prefixlist", Algorithm{Method: Exclusive10, InclusivePrefixes: []string{"p", "#default", "q", "xml"}}},
}

func transformXML(alg Algorithm) string {
	s := `<ds:Transform Algorithm="` + alg.URI() + `"`
	if len(alg.InclusivePrefixes) == 0 {
		return s + "/>"
	}
	return s + `><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="` + strings.Join(alg.InclusivePrefixes, " ") + `"/></ds:Transform>`
}

// TestDiffXmlsecSubsets compares document subsets with libxml2 through xmlsec1: the
// enveloped document (URI="" minus the signature), an element by Id (with inherited
// namespaces and xml: attributes) and the SignedInfo inside the document, for every
// algorithm variant. xmlsec1 prints the exact bytes it digests and signs.
func TestDiffXmlsecSubsets(t *testing.T) {
	xmlsec := needTool(t, "xmlsec1")
	dir := t.TempDir()
	key := testKeyFile(t, dir)
	for _, c := range diffCases {
		for _, v := range variants {
			t.Run(c.name+"/"+v.name, func(t *testing.T) {
				diffSubset(t, xmlsec, dir, key, c, v.alg)
			})
		}
	}
}

func diffSubset(t *testing.T, xmlsec, dir, key string, c diffCase, alg Algorithm) {
	doc0, err := xmldom.Parse(encodeCase(c), xmldom.Limits{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	at := doc0.Root()
	if c.insertAt != "" {
		at = doc0.ElementsByID(c.insertAt)[0]
	}
	dsBound := false
	if u, ok := at.LookupNamespace("ds"); ok && u == "http://www.w3.org/2000/09/xmldsig#" {
		dsBound = true
	}
	var tpl strings.Builder
	tpl.WriteString(`<ds:Signature`)
	if !dsBound {
		tpl.WriteString(` xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`)
	}
	tpl.WriteString(`><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="` + alg.URI() + `"`)
	if len(alg.InclusivePrefixes) > 0 {
		tpl.WriteString(`><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="` + strings.Join(alg.InclusivePrefixes, " ") + `"/></ds:CanonicalizationMethod>`)
	} else {
		tpl.WriteString("/>")
	}
	tpl.WriteString(`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>`)
	ref := func(uri, transforms string) {
		tpl.WriteString(`<ds:Reference URI="` + uri + `"><ds:Transforms>` + transforms + `</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference>`)
	}
	// The subset that contains the signature goes first: xmlsec1 digests references in order,
	// filling each DigestValue, so a later subset would see earlier values.
	idFirst := c.insertAt != ""
	if c.id != "" && idFirst {
		ref("#"+c.id, transformXML(alg))
	}
	ref("", `<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>`+transformXML(alg))
	if c.id != "" && !idFirst {
		ref("#"+c.id, transformXML(alg))
	}
	tpl.WriteString(`</ds:SignedInfo><ds:SignatureValue/></ds:Signature>`)
	src := doc0.Source[:at.InnerEnd] + tpl.String() + doc0.Source[at.InnerEnd:]
	raw := doc0.Encode([]byte(src))
	in := filepath.Join(dir, "in.xml")
	out := filepath.Join(dir, "out.xml")
	if err := os.WriteFile(in, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--sign", "--privkey-pem", key, "--store-references", "--store-signatures", "--output", out}
	if c.id != "" {
		args = append(args, "--id-attr:Id", c.idElem)
	}
	args = append(args, in)
	stdout, err := runTool(t, xmlsec, args...)
	if err != nil {
		t.Fatal(err)
	}
	pre := blocks(stdout, "== PreDigest data - start buffer:\n", "\n== PreDigest data - end buffer")
	signed := blocks(stdout, "== PreSigned data - start buffer:\n", "\n== PreSigned data - end buffer")
	signedDoc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sdoc, err := xmldom.Parse(signedDoc, xmldom.Limits{})
	if err != nil {
		t.Fatalf("parse xmlsec1 output: %v", err)
	}
	// Self-check the extraction: each block must hash to xmlsec1's DigestValue.
	var digests []string
	walk(&sdoc.Node, func(n *xmldom.Node) {
		if n.Is("http://www.w3.org/2000/09/xmldsig#", "DigestValue") {
			digests = append(digests, strings.Join(strings.Fields(n.Text()), ""))
		}
	})
	if len(pre) != len(digests) || len(signed) != 1 {
		t.Fatalf("xmlsec1 output: %d pre-digest blocks, %d digests, %d signed blocks", len(pre), len(digests), len(signed))
	}
	for i, b := range pre {
		h := sha256.Sum256(b)
		if base64.StdEncoding.EncodeToString(h[:]) != digests[i] {
			t.Fatalf("extracted block %d does not match xmlsec1's digest", i)
		}
	}
	// Ours, on our parse of the same template document.
	doc, err := xmldom.Parse(raw, xmldom.Limits{})
	if err != nil {
		t.Fatalf("parse template: %v", err)
	}
	sig := findElem(&doc.Node, "http://www.w3.org/2000/09/xmldsig#", "Signature")
	got, err := Bytes(&doc.Node, alg, &Options{Exclude: func(n *xmldom.Node) bool { return n == sig }, NoComments: true})
	if err != nil {
		t.Fatal(err)
	}
	envIdx, idIdx := 0, 1
	if idFirst && c.id != "" {
		envIdx, idIdx = 1, 0
	}
	if !bytes.Equal(got, pre[envIdx]) {
		t.Errorf("enveloped subset differs:\n got %q\nwant %q", got, pre[envIdx])
	}
	if c.id != "" {
		els := doc.ElementsByID(c.id)
		if len(els) != 1 {
			t.Fatalf("id %s: %d elements", c.id, len(els))
		}
		got, err := Bytes(els[0], alg, &Options{NoComments: true})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pre[idIdx]) {
			t.Errorf("element #%s differs:\n got %q\nwant %q", c.id, got, pre[idIdx])
		}
	}
	si := findElem(&sdoc.Node, "http://www.w3.org/2000/09/xmldsig#", "SignedInfo")
	got, err = Bytes(si, alg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, signed[0]) {
		t.Errorf("SignedInfo differs:\n got %q\nwant %q", got, signed[0])
	}
}

func blocks(out []byte, start, end string) [][]byte {
	var res [][]byte
	s := out
	for {
		i := bytes.Index(s, []byte(start))
		if i < 0 {
			return res
		}
		s = s[i+len(start):]
		j := bytes.Index(s, []byte(end))
		if j < 0 {
			return res
		}
		res = append(res, s[:j])
		s = s[j:]
	}
}

func walk(n *xmldom.Node, fn func(*xmldom.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.Next {
		walk(c, fn)
	}
}

func findElem(n *xmldom.Node, space, local string) *xmldom.Node {
	if n.Is(space, local) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.Next {
		if r := findElem(c, space, local); r != nil {
			return r
		}
	}
	return nil
}
