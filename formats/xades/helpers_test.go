package xades_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/trifirma/trifirma/formats/xades"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
	"github.com/trifirma/trifirma/internal/xmldom"
)

// xmlsec1Verify runs xmlsec1 --verify on every ds:Signature of doc as it is (any encoding),
// trusting only the test root. It is used where validate.XAdES cannot read the input
// (encodings other than UTF-8) or where xadesjs lacks an algorithm (C14N 1.1).
func xmlsec1Verify(t *testing.T, doc []byte) {
	t.Helper()
	xmlsec1VerifyFrom(t, doc, 1)
}

// xmlsec1VerifyFrom verifies the ds:Signature elements from the first-th (1-based, document
// order) on.
func xmlsec1VerifyFrom(t *testing.T, doc []byte, first int) {
	t.Helper()
	if _, err := exec.LookPath("xmlsec1"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmlsec1 is required in CI")
		}
		t.Skip("xmlsec1 not installed")
	}
	d, err := xmldom.Parse(doc, xmldom.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	root := testpki.Get(t).WriteRoot(t, dir)
	f := filepath.Join(dir, "sig.xml")
	if err := os.WriteFile(f, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	referenced := map[string]bool{}
	var refs func(*xmldom.Node)
	refs = func(x *xmldom.Node) {
		for _, a := range x.Attrs {
			if len(a.Value) > 1 && a.Value[0] == '#' {
				referenced[a.Value[1:]] = true
			}
		}
		for c := x.FirstChild; c != nil; c = c.Next {
			refs(c)
		}
	}
	refs(&d.Node)
	var args []string
	n := 0
	var walk func(*xmldom.Node)
	walk = func(x *xmldom.Node) {
		if x.Kind == xmldom.ElementNode {
			if x.Is(xades.NSDS, "Signature") {
				n++
			}
			for _, a := range x.Attrs {
				known := x.Space == xades.NSDS || x.Space == xades.NSXAdES
				if xmldom.IsIDAttr(&a) && a.Space == "" && (known || referenced[a.Value]) {
					k := a.Name + " " + x.Space + ":" + x.Local()
					if x.Space == "" {
						k = a.Name + " " + x.Local()
					}
					if !seen[k] {
						seen[k] = true
						args = append(args, "--id-attr:"+a.Name, k[len(a.Name)+1:])
					}
				}
			}
		}
		for c := x.FirstChild; c != nil; c = c.Next {
			walk(c)
		}
	}
	walk(&d.Node)
	for i := first; i <= n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		a := append([]string{"--verify", "--trusted-pem", root, "--enabled-key-data", "x509"}, args...)
		a = append(a, "--node-xpath", fmt.Sprintf("(//*[local-name()='Signature' and namespace-uri()='%s'])[%d]", xades.NSDS, i), f)
		out, err := exec.CommandContext(ctx, "xmlsec1", a...).CombinedOutput()
		cancel()
		if err != nil || !bytes.Contains(out, []byte("OK")) {
			t.Errorf("xmlsec1 --verify signature %d: %v\n%s", i, err, out)
		}
	}
}

// toUTF8 re-encodes a document as UTF-8 (declaration rewritten): the same infoset, hence the
// same canonical forms and digests, for validators that only read UTF-8.
func toUTF8(t *testing.T, doc []byte) []byte {
	t.Helper()
	d, err := xmldom.Parse(doc, xmldom.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	src := d.Source
	if d.DeclEnd > 0 {
		src = `<?xml version="1.0" encoding="UTF-8"?>` + src[d.DeclEnd:]
	}
	return []byte(src)
}

// checkAnyEncoding validates doc with xmlsec1 as is and with every validator as UTF-8.
func checkAnyEncoding(t *testing.T, doc []byte, signers int) {
	t.Helper()
	xmlsec1Verify(t, doc)
	validate.XAdES(t, toUTF8(t, doc), validate.Options{Roots: rootsOf(t), Signers: signers})
}
