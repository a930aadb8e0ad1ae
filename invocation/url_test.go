package invocation_test

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/invocation"
)

// specExamples reads testdata/spec-examples.txt: name -> URL, in document order.
func specExamples(t *testing.T) ([]string, map[string]string) {
	t.Helper()
	f, err := os.Open("testdata/spec-examples.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, u, _ := strings.Cut(line, "\t")
		names = append(names, name)
		m[name] = u
	}
	return names, m
}

func elided(s string) bool { return strings.Contains(s, "…") }

// TestSpecExamplesRoundTrip parses every example URL of the specification and writes it back
// byte for byte (the "…" elisions of the document aside).
func TestSpecExamplesRoundTrip(t *testing.T) {
	names, ex := specExamples(t)
	if len(names) != 15 {
		t.Fatalf("%d examples, want 15", len(names))
	}
	for _, name := range names {
		s := ex[name]
		if elided(s) {
			continue
		}
		u, err := invocation.Parse(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range u.Params {
			if u.Params[i].Key == "ports" {
				u.Params[i].Verbatim = true // the page writes the port list unescaped
			}
		}
		if got := u.String(); got != s {
			t.Errorf("%s: round trip\n got %s\nwant %s", name, got, s)
		}
	}
}

// TestSpecExamplesShared checks that testdata/spec-examples.txt still lists every example of the
// shared specification, when TRIFIRMA_SHARED points at it.
func TestSpecExamplesShared(t *testing.T) {
	shared := os.Getenv("TRIFIRMA_SHARED")
	if shared == "" {
		t.Skip("TRIFIRMA_SHARED not set")
	}
	doc, err := os.ReadFile(filepath.Join(shared, "seeds", "afirma-protocol-invocation.txt"))
	if err != nil {
		t.Fatal(err)
	}
	_, ex := specExamples(t)
	have := map[string]bool{}
	for _, u := range ex {
		have[u] = true
	}
	for _, u := range regexp.MustCompile(`afirma://[^ |\n]*`).FindAllString(string(doc), -1) {
		if !have[u] {
			t.Errorf("example missing from testdata: %s", u)
		}
	}
}

const (
	appprueba = "http://appprueba:8080/afirma-server-triphase-signer/SignatureService"
	valide    = "https://valide.redsara.es/firmaMovil/"
)

// builders produces, with the typed API, the URL of each specification example from the
// values the document describes.
func builders(t *testing.T, ex map[string]string) map[string]func() (invocation.URL, error) {
	ap := trifirma.Params{"serverUrl": appprueba}
	vp := trifirma.Params{"mode": "explicit", "serverUrl": valide + "afirma-server-triphase-signer/SignatureService"}
	placeholder := []byte("<?xml version=\"1.0\"?><project/>")
	saveData := datOf(t, ex["save"])
	return map[string]func() (invocation.URL, error){
		"websocket-intro": func() (invocation.URL, error) {
			return invocation.WebSocketURL(invocation.SocketSession{Version: "3"})
		},
		"sign-intro": func() (invocation.URL, error) {
			return invocation.Request{Op: invocation.OpSign, Format: "CAdES", Algorithm: "SHA512withRSA", Properties: ap}.URL(invocation.Common{
				ProtocolVersion: "3", ID: "yy1oMJsxoHSoMzLdJywW", Key: "71313199",
				StorageURL: "http://appprueba:8080/afirma-signature-storage/StorageService", ActiveWaiting: true})
		},
		"websocket": func() (invocation.URL, error) {
			return invocation.WebSocketURL(invocation.SocketSession{Version: "3", JSVersion: "2", MinClientVersion: "1.7.0"})
		},
		"service": func() (invocation.URL, error) {
			return invocation.ServiceURL(invocation.SocketSession{Version: "1", JSVersion: "2",
				Ports: []int{60572, 64733, 56552}, IDSession: "CT8Dubp4IDxjSnhxh15A"})
		},
		"sign-intermediate": func() (invocation.URL, error) {
			return invocation.Request{Op: invocation.OpSign, Format: "CAdES", Algorithm: "SHA256withRSA", Properties: vp}.URL(invocation.Common{
				JSVersion: "2", MinClientVersion: "1.7.0", ProtocolVersion: "1", ID: "llUQSzruWssVQxIeFNtV", Key: "72993139",
				StorageURL: valide + "afirma-signature-storage/StorageService", ActiveWaiting: true})
		},
		"sign-fileid": func() (invocation.URL, error) {
			return invocation.FileIDURL(invocation.OpSign, "1mlL13MJMKMU4KMUI4Co", valide+"afirma-signature-retriever/RetrieveService", "56542304", ""), nil
		},
		"sign": func() (invocation.URL, error) {
			return invocation.Request{Op: invocation.OpSign, Format: "CAdES", Algorithm: "SHA256withRSA", Properties: vp}.URL(invocation.Common{
				ProtocolVersion: "1", ID: "llUQSzruWssVQxIeFNtV"})
		},
		"cosign": func() (invocation.URL, error) {
			return invocation.Request{Op: invocation.OpCosign, Algorithm: "SHA512withRSA", Format: "XAdES", Properties: ap,
				Sticky: invocation.Bool(false), Data: placeholder}.URL(invocation.Common{})
		},
		"countersign": func() (invocation.URL, error) {
			return invocation.Request{Op: invocation.OpCountersign, Algorithm: "SHA512withRSA", Format: "XAdES", Properties: ap,
				Sticky: invocation.Bool(false), Data: placeholder}.URL(invocation.Common{})
		},
		"batch": func() (invocation.URL, error) {
			return invocation.Request{Op: invocation.OpBatch,
				BatchPreSignerURL:  "http://appprueba:8080/afirma-server-triphase-signer/BatchPresigner",
				BatchPostSignerURL: "http://appprueba:8080/afirma-server-triphase-signer/BatchPostsigner",
				Properties:         ap, Sticky: invocation.Bool(false), NeedCert: invocation.Bool(true), Data: placeholder}.URL(invocation.Common{})
		},
		"selectcert": func() (invocation.URL, error) {
			return invocation.Request{Op: invocation.OpSelectCert, Properties: trifirma.Params{"filters": "nonexpired:false"},
				Sticky: invocation.Bool(true)}.URL(invocation.Common{})
		},
		"save": func() (invocation.URL, error) {
			return invocation.Request{Op: invocation.OpSave, Title: "Guardar firma electrónica", Data: saveData}.URL(invocation.Common{})
		},
		"load": func() (invocation.URL, error) {
			return invocation.Request{Op: invocation.OpLoad, Extensions: "csig,xsig,sig,pdf,xml",
				Description: "Fichero de firma electrónica", MultiLoad: invocation.Bool(false)}.URL(invocation.Common{})
		},
		"signandsave": func() (invocation.URL, error) {
			return invocation.Request{Op: invocation.OpSignAndSave, CryptoOp: invocation.OpCosign, Algorithm: "SHA512withRSA",
				Format: "XAdES", Properties: ap, Sticky: invocation.Bool(false), FileName: "cofirma.xsig"}.URL(invocation.Common{})
		},
		"getlog": func() (invocation.URL, error) {
			return invocation.Request{Op: "getLog"}.URL(invocation.Common{})
		},
	}
}

func datOf(t *testing.T, s string) []byte {
	u, err := invocation.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := u.Get("dat")
	b, err := b64.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// orderedExamples are those whose parameter order the typed builder reproduces exactly.
var orderedExamples = map[string]bool{
	"websocket-intro": true, "sign-intro": true, "websocket": true, "service": true, "sign-intermediate": true,
	"sign-fileid": true, "sign": true, "selectcert": true, "save": true, "load": true, "getlog": true,
}

// TestSpecExamplesBuilt builds every example of the specification with the typed API and checks
// that the result means the same to an app: same operation and parameters, Base64 payloads and
// properties compared decoded, and the same order where the document is consistent. The exact
// output is kept in testdata/golden/<name>.url.
func TestSpecExamplesBuilt(t *testing.T) {
	names, ex := specExamples(t)
	build := builders(t, ex)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			got, err := build[name]()
			if err != nil {
				t.Fatal(err)
			}
			want, err := invocation.Parse(ex[name])
			if err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(got.Op, want.Op) {
				t.Fatalf("operation %q, want %q", got.Op, want.Op)
			}
			gk, wk := normalized(t, got, ex[name]), normalized(t, want, ex[name])
			if strings.Join(keys(gk), ",") != strings.Join(keys(wk), ",") && orderedExamples[name] {
				t.Errorf("parameter order %v, want %v", keys(gk), keys(wk))
			}
			gm, wm := toMap(gk), toMap(wk)
			for k, v := range wm {
				if gm[k] != v {
					t.Errorf("%s = %q, want %q", k, gm[k], v)
				}
			}
			for k := range gm {
				if _, ok := wm[k]; !ok {
					t.Errorf("unexpected parameter %s", k)
				}
			}
			golden(t, filepath.Join("testdata", "golden", name+".url"), got.String()+"\n")
		})
	}
}

type kv struct{ k, v string }

// normalized lists the non-empty parameters with Base64 payloads decoded and properties
// rendered canonically; an elided dat is dropped.
func normalized(t *testing.T, u invocation.URL, raw string) []kv {
	var out []kv
	for _, p := range u.Params {
		v := p.Value
		switch {
		case v == "":
			continue
		case p.Key == "dat":
			if elided(raw) {
				continue
			}
			b, err := b64.DecodeString(v)
			if err != nil {
				t.Fatalf("dat: %v", err)
			}
			v = string(b)
		case p.Key == "properties":
			m, err := trifirma.DecodeParams(v)
			if err != nil {
				t.Fatalf("properties: %v", err)
			}
			v = m.String()
		}
		out = append(out, kv{p.Key, v})
	}
	return out
}

func keys(l []kv) []string {
	var s []string
	for _, e := range l {
		s = append(s, e.k)
	}
	return s
}

func toMap(l []kv) map[string]string {
	m := map[string]string{}
	for _, e := range l {
		m[e.k] = e.v
	}
	return m
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s mismatch:\n got %q\nwant %q", path, got, want)
	}
}

// TestExactForms pins the byte-exact output where the typed builder matches the document.
func TestExactForms(t *testing.T) {
	_, ex := specExamples(t)
	build := builders(t, ex)
	for _, name := range []string{"websocket", "service", "sign-fileid", "getlog", "load"} {
		u, err := build[name]()
		if err != nil {
			t.Fatal(err)
		}
		want := ex[name]
		// The sign examples write "sign/?"; the load example writes an empty title.
		u.Slash = strings.HasPrefix(want, "afirma://"+u.Op+"/?")
		if name == "load" {
			want = strings.Replace(want, "&title=", "", 1)
		}
		if got := u.String(); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	u, _ := build["websocket-intro"]()
	u.Slash = true
	if got := u.String(); got != ex["websocket-intro"] {
		t.Errorf("websocket-intro: %s", got)
	}
}

// appParseXML mirrors the apps' ProtocolInvocationUriParserUtil.parseXml: the root element names
// the operation, every child must be <e k="" v=""/>, values are URL-decoded.
func appParseXML(t *testing.T, doc []byte) (string, map[string]string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var root string
	params := map[string]string{}
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				root = tk.Name.Local
				continue
			}
			if tk.Name.Local != "e" || depth != 2 {
				t.Fatalf("unexpected element %s", tk.Name.Local)
			}
			var k, v string
			for _, a := range tk.Attr {
				switch a.Name.Local {
				case "k":
					k = a.Value
				case "v":
					v = a.Value
				}
			}
			dv, err := url.QueryUnescape(v)
			if err != nil {
				t.Fatalf("value of %s: %v", k, err)
			}
			params[k] = dv
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth > 0 {
				t.Fatalf("text node %q inside the document (the apps refuse it)", tk)
			}
		}
	}
	return root, params
}

func TestXML(t *testing.T) {
	// The document's XML example, built with the typed API.
	u, err := invocation.Request{Op: invocation.OpSign, Format: "CAdES", Algorithm: "SHA1withRSA",
		Properties: trifirma.Params{"serverUrl": "http://192.168.177.173:8080/afirma-server-triphase-signer/SignatureService"},
		Data:       []byte("fulanito@atos.net")}.URL(invocation.Common{ID: "000987508929", Key: "39772569",
		StorageURL: "http://192.168.177.173:8080/afirma-signature-storage/StorageService"})
	if err != nil {
		t.Fatal(err)
	}
	doc := u.XML()
	golden(t, "testdata/golden/sign.xml", string(doc)+"\n")
	root, params := appParseXML(t, doc)
	if root != "sign" {
		t.Fatalf("root %q", root)
	}
	for _, p := range u.Params {
		if params[p.Key] != p.Value {
			t.Errorf("%s = %q, want %q", p.Key, params[p.Key], p.Value)
		}
	}
	// Values with XML and URL metacharacters survive.
	odd := invocation.URL{Op: "save", Params: []invocation.Param{{Key: "title", Value: `<a href="x">&'+ %ñ`}}}
	if _, p := appParseXML(t, odd.XML()); p["title"] != `<a href="x">&'+ %ñ` {
		t.Errorf("title = %q", p["title"])
	}
}

func TestRequestValidation(t *testing.T) {
	bad := []invocation.Request{
		{Op: "frobnicate"},
		{Op: invocation.OpSign, Format: "CAdES"},
		{Op: invocation.OpSign, Format: "CAdES", Algorithm: "SHA256withRSA", Title: "x"},
		{Op: invocation.OpSelectCert, Data: []byte("x")},
		{Op: invocation.OpBatch, Data: []byte("x"), BatchPreSignerURL: "http://a/pre"},
		{Op: invocation.OpSignAndSave, Format: "CAdES", Algorithm: "SHA256withRSA", CryptoOp: "batch"},
		{Op: invocation.OpSave},
		{Op: invocation.OpLoad, Extra: []invocation.Param{{Key: "title", Value: "x"}}},
		{Op: invocation.OpLoad, Extra: []invocation.Param{{Key: "id", Value: "x"}}},
		{Op: invocation.OpGetLog, MultiLoad: invocation.Bool(true)},
	}
	for _, r := range bad {
		if _, err := r.URL(invocation.Common{}); !errors.Is(err, invocation.ErrInvalidRequest) {
			t.Errorf("%+v: err = %v", r, err)
		}
	}
	u, err := invocation.Request{Op: invocation.OpSelectCert, KeyStore: "PKCS12:/home/u/a+b.p12",
		Extra: []invocation.Param{{Key: "dlgload", Value: "false"}}}.URL(invocation.Common{AppName: "Sede"})
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := u.Get("ksb64")
	if ks != "UEtDUzEyOi9ob21lL3UvYStiLnAxMg==" { // standard alphabet: AutoFirma decodes ksb64 strictly
		t.Errorf("ksb64 = %q", ks)
	}
	if got := u.String(); got != "afirma://selectcert?op=selectcert&appname=Sede&ksb64=UEtDUzEyOi9ob21lL3UvYStiLnAxMg%3D%3D&dlgload=false" {
		t.Errorf("URL = %s", got)
	}
	if _, err := invocation.ServiceURL(invocation.SocketSession{Version: "1"}); !errors.Is(err, invocation.ErrInvalidRequest) {
		t.Error("service URL without ports accepted")
	}
	if _, err := invocation.WebSocketURL(invocation.SocketSession{Version: "3", Ports: []int{70000}}); !errors.Is(err, invocation.ErrInvalidRequest) {
		t.Error("port 70000 accepted")
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"http://sign?op=sign", "afirma://?op=x", "afirma://sign?dat=%zz"} {
		if _, err := invocation.Parse(s); !errors.Is(err, invocation.ErrURL) {
			t.Errorf("Parse(%q) err = %v", s, err)
		}
	}
	u, err := invocation.Parse("afirma://sign/extra?a=1&=x&b&c=1+2%2B")
	if err != nil || u.Op != "sign" || !u.Slash || len(u.Params) != 2 {
		t.Fatalf("%+v %v", u, err)
	}
	if v, _ := u.Get("c"); v != "1 2+" {
		t.Errorf("c = %q", v)
	}
}

func TestEncodeURIComponent(t *testing.T) {
	in := "AZaz09-_.!~*'() +/=?&#:ñ€"
	want := "AZaz09-_.!~*'()%20%2B%2F%3D%3F%26%23%3A%C3%B1%E2%82%AC"
	if got := invocation.EncodeURIComponent(in); got != want {
		t.Errorf("got %s", got)
	}
}
