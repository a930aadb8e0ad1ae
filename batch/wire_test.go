package batch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/batch"
	"github.com/trifirma/trifirma/batch/fetch"
	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/internal/testpki"
)

func simpleBatch(n int, format trifirma.Format) *batch.Batch {
	b := &batch.Batch{Algorithm: "SHA256", Format: format}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("doc-%d", i)
		b.Items = append(b.Items, &batch.Item{ID: id, Source: batch.Source{Value: b64.EncodeURL(document(id, 300))}})
	}
	return b
}

// TestStopOnErrorPresign: in a stop-on-error batch the first failure skips every other entry
// and no session is returned; the client then never calls postsign.
func TestStopOnErrorPresign(t *testing.T) {
	pki := testpki.Get(t)
	e := newEnv(t, nil)
	b := simpleBatch(4, trifirma.FormatCAdES)
	b.StopOnError = true
	b.Items[2].Operation = trifirma.OpCoSign // not a CMS: fails
	got := e.signJSON(b, pki.RSA, nil)
	checkResults(t, got, map[string]batch.Code{"doc-1": batch.Skipped, "doc-2": batch.Skipped, "doc-3": batch.ErrorPre, "doc-4": batch.Skipped})
	if e.store.count() != 0 {
		t.Error("something was stored")
	}

	// XML: the reply has no error list, so a stopped batch is an HTTP error (as in the reference).
	reg := batch.NewSaverRegistry()
	reg.Register("test.Discard", func(trifirma.Params) (batch.Saver, error) { return discard{}, nil })
	e = newEnv(t, func(c *batch.Config) { c.Savers = reg })
	for _, it := range b.Items {
		it.Source.Kind = batch.SourceBase64
		it.SaverSpec = &batch.SaverSpec{Class: "test.Discard"}
	}
	code, body, _ := e.signXML(b, pki.RSA, nil)
	if code != http.StatusInternalServerError || !strings.Contains(body, `entry "doc-3"`) {
		t.Errorf("XML stopped presign: HTTP %d %q", code, body)
	}
}

type discard struct{}

func (discard) Save(context.Context, *batch.Item, trifirma.Signature) error { return nil }
func (discard) Rollback(context.Context, *batch.Item) error                 { return nil }

// TestTampering: every entry is bound to its own session; a changed PRE, swapped values,
// changed parameters or a missing firma only affect the entries concerned.
func TestTampering(t *testing.T) {
	pki := testpki.Get(t)
	cases := []struct {
		name   string
		tamper func(td *trifirma.TriphaseData)
		edit   func(b *batch.Batch)
		want   map[string]batch.Code
	}{
		{"PRE changed", func(td *trifirma.TriphaseData) {
			sd := td.Find("doc-2")[0]
			pre, _ := sd.Bytes(trifirma.ParamPRE)
			pre[len(pre)-1] ^= 1
			sd.Set(trifirma.ParamPRE, b64.EncodeStd(pre))
		}, nil, map[string]batch.Code{"doc-2": batch.ErrorPost}},
		{"PK1 swapped", func(td *trifirma.TriphaseData) {
			a, b := td.Find("doc-1")[0], td.Find("doc-3")[0]
			pa, _ := a.Get(trifirma.ParamPK1)
			pb, _ := b.Get(trifirma.ParamPK1)
			a.Set(trifirma.ParamPK1, pb)
			b.Set(trifirma.ParamPK1, pa)
		}, nil, map[string]batch.Code{"doc-1": batch.ErrorPost, "doc-3": batch.ErrorPost}},
		{"firma moved to another entry", func(td *trifirma.TriphaseData) {
			td.Find("doc-1")[0].ID = "doc-4"
		}, nil, map[string]batch.Code{"doc-1": batch.ErrorPre, "doc-4": batch.ErrorPost}},
		{"firma missing", func(td *trifirma.TriphaseData) {
			td.Signs = td.Signs[1:]
		}, nil, map[string]batch.Code{"doc-1": batch.ErrorPre}},
		{"extraparams changed", nil, func(b *batch.Batch) {
			b.Items[1].Params = trifirma.Params{"mode": "implicit"}
		}, map[string]batch.Code{"doc-2": batch.ErrorPost}},
		{"format changed", nil, func(b *batch.Batch) {
			b.Items[2].Format = trifirma.FormatNONE
		}, map[string]batch.Code{"doc-3": batch.ErrorPost}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			b := simpleBatch(4, trifirma.FormatCAdES)
			certs := certsParam(pki.RSA.Chain)
			raw, _ := b.MarshalJSON()
			code, body := e.post(batch.PathJSONPresign, "json", b64.EncodeURL(raw), "certs", certs)
			if code != http.StatusOK {
				t.Fatalf("presign HTTP %d %s", code, body)
			}
			var pr struct {
				TD json.RawMessage `json:"td"`
			}
			_ = json.Unmarshal([]byte(body), &pr)
			td, err := batch.ParseJSONSession(pr.TD)
			if err != nil {
				t.Fatal(err)
			}
			if err := client.SignSession(td, pki.RSA.Key, "SHA256"); err != nil {
				t.Fatal(err)
			}
			if c.tamper != nil {
				c.tamper(td)
			}
			if c.edit != nil {
				c.edit(b)
				raw, _ = b.MarshalJSON()
			}
			// The nested shape is accepted too.
			tridata := `{"format":"CAdES","signs":[{"signinfo":` + strings.TrimPrefix(string(batch.AppendJSONSession(nil, "", td)), `{"signinfo":`) + `]}`
			code, body = e.post(batch.PathJSONPostsign, "json", b64.EncodeURL(raw), "certs", certs, "tridata", b64.EncodeURL([]byte(tridata)))
			if code != http.StatusOK {
				t.Fatalf("postsign HTTP %d %s", code, body)
			}
			var res struct {
				Signs []wireResult `json:"signs"`
			}
			if err := json.Unmarshal([]byte(body), &res); err != nil {
				t.Fatal(err)
			}
			want := map[string]batch.Code{}
			for i := 1; i <= 4; i++ {
				want[fmt.Sprintf("doc-%d", i)] = batch.DoneAndSaved
			}
			for k, v := range c.want {
				want[k] = v
			}
			checkResults(t, res.Signs, want)
			for _, r := range res.Signs {
				if r.Result == string(batch.ErrorPre) && r.Description != "Error en la prefirma" {
					t.Errorf("%s: description %q", r.ID, r.Description)
				}
				if want[r.ID] == batch.DoneAndSaved {
					if e.store.get(r.ID) == nil {
						t.Errorf("%s was not stored", r.ID)
					} else if c.name == "PK1 swapped" {
						// The others are the same signatures as TestJSONBatch's.
						validateCAdES(t, pki, e.store.get(r.ID), document(r.ID, 300), 1)
					}
				} else if e.store.get(r.ID) != nil {
					t.Errorf("%s was stored", r.ID)
				}
			}
		})
	}
}

// TestWholeBatchErrors checks the HTTP answers to malformed requests and limits.
func TestWholeBatchErrors(t *testing.T) {
	pki := testpki.Get(t)
	e := newEnv(t, func(c *batch.Config) {
		c.MaxDocuments = 3
		c.MaxReferenceSize = 2000
		c.MaxBatchSize = 8 << 10
		c.MaxBodySize = 64 << 10
	})
	certs := certsParam(pki.RSA.Chain)
	js := func(s string) string { return b64.EncodeURL([]byte(s)) }
	okBatch := `{"algorithm":"SHA256","format":"CAdES","singlesigns":[{"id":"a","datareference":"` + b64.EncodeURL([]byte("hola")) + `"}]}`
	cases := []struct {
		name   string
		path   string
		kv     []string
		status int
		text   string
	}{
		{"no json", batch.PathJSONPresign, []string{"certs", certs}, 400, "parametro json"},
		{"json not Base64", batch.PathJSONPresign, []string{"json", "!!!", "certs", certs}, 400, "not Base64"},
		{"json malformed", batch.PathJSONPresign, []string{"json", js("{"), "certs", certs}, 400, "La definicion de lote es invalida"},
		{"no certs", batch.PathJSONPresign, []string{"json", js(okBatch)}, 400, "parametro certs"},
		{"bad certs", batch.PathJSONPresign, []string{"json", js(okBatch), "certs", "AAAA"}, 400, "La cadena de certificados"},
		{"no algorithm", batch.PathJSONPresign, []string{"json", js(strings.Replace(okBatch, `"algorithm":"SHA256",`, "", 1)), "certs", certs}, 400, "no algorithm"},
		{"MD5", batch.PathJSONPresign, []string{"json", js(strings.Replace(okBatch, "SHA256", "MD5withRSA", 1)), "certs", certs}, 400, "unsupported signature algorithm"},
		{"unknown format", batch.PathJSONPresign, []string{"json", js(strings.Replace(okBatch, `"CAdES"`, `"ODF"`, 1)), "certs", certs}, 400, `unknown format "ODF"`},
		{"unknown suboperation", batch.PathJSONPresign, []string{"json", js(strings.Replace(okBatch, `"format"`, `"suboperation":"multisign","format"`, 1)), "certs", certs}, 400, "unknown suboperation"},
		{"duplicate id", batch.PathJSONPresign, []string{"json", js(strings.Replace(okBatch, `}]}`, `},{"id":"a","datareference":"eA=="}]}`, 1)), "certs", certs}, 400, "duplicate entry id"},
		{"entry without data", batch.PathJSONPresign, []string{"json", js(`{"algorithm":"SHA256","singlesigns":[{"id":"a"}]}`), "certs", certs}, 400, "neither datareference nor result"},
		{"unknown result", batch.PathJSONPresign, []string{"json", js(`{"algorithm":"SHA256","singlesigns":[{"id":"a","result":"DONE_BUT_NOT_SAVED"}]}`), "certs", certs}, 400, "unknown result"},
		{"too many documents", batch.PathJSONPresign, []string{"json", js(`{"algorithm":"SHA256","format":"NONE","singlesigns":[{"id":"a","datareference":"eA=="},{"id":"b","datareference":"eA=="},{"id":"c","datareference":"eA=="},{"id":"d","datareference":"eA=="}]}`), "certs", certs}, 400, "requisitos establecidos en servidor"},
		{"reference too long", batch.PathJSONPresign, []string{"json", js(`{"algorithm":"SHA256","format":"NONE","singlesigns":[{"id":"a","datareference":"` + strings.Repeat("A", 2004) + `"}]}`), "certs", certs}, 400, "requisitos establecidos en servidor"},
		{"batch too large", batch.PathJSONPresign, []string{"json", js(`{"algorithm":"SHA256","x":"` + strings.Repeat("A", 9<<10) + `","singlesigns":[]}`), "certs", certs}, 400, "requisitos establecidos en servidor"},
		{"body too large", batch.PathJSONPresign, []string{"json", strings.Repeat("A", 70<<10)}, 413, "requisitos establecidos en servidor"},
		{"no tridata", batch.PathJSONPostsign, []string{"json", js(okBatch), "certs", certs}, 400, "parametro tridata"},
		{"bad tridata", batch.PathJSONPostsign, []string{"json", js(okBatch), "certs", certs, "tridata", js(`{"signinfo":[{"id":"a","params":{"PK1":1}}]}`)}, 400, "not a string"},
		{"XML not XML", batch.PathXMLPresign, []string{"xml", js("hola"), "certs", certs}, 400, "La definicion de lote es invalida"},
		{"XML DOCTYPE", batch.PathXMLPresign, []string{"xml", js(`<!DOCTYPE x [<!ENTITY e "x">]><signbatch algorithm="SHA256withRSA"/>`), "certs", certs}, 400, "DOCTYPE"},
		{"XML too large", batch.PathXMLPresign, []string{"xml", js("<signbatch>" + strings.Repeat(" ", 9<<10) + "</signbatch>"), "certs", certs}, 400, "requisitos establecidos en servidor"},
		{"XML unknown saver", batch.PathXMLPresign, []string{"xml", js(`<signbatch algorithm="SHA256withRSA"><singlesign Id="a"><datasource>eA==</datasource><format>CAdES</format><signsaver><class>java.lang.Runtime</class></signsaver></singlesign></signbatch>`), "certs", certs}, 400, `"java.lang.Runtime" is not available`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := e.post(c.path, c.kv...)
			if code != c.status || !strings.Contains(body, c.text) {
				t.Errorf("HTTP %d %q; want %d containing %q", code, body, c.status, c.text)
			}
		})
	}
	// A pair without '=' is malformed.
	resp, err := e.ts.Client().Post(e.ts.URL+batch.PathJSONPresign, "text/plain", strings.NewReader("json&certs="+certs))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("pair without '=': HTTP %d", resp.StatusCode)
	}
	// OPTIONS preflight.
	req, _ := http.NewRequest(http.MethodOptions, e.ts.URL+batch.PathJSONPresign, nil)
	resp, err = e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("OPTIONS: HTTP %d %v", resp.StatusCode, resp.Header)
	}
	// GET with query parameters works (percent-decoded, '+' kept).
	resp, err = e.ts.Client().Get(e.ts.URL + batch.PathJSONPresign + "?json=" + url.QueryEscape(js(okBatch)) + "&certs=" + url.QueryEscape(certs))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json;charset=UTF-8" {
		t.Errorf("GET: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// A raw XML batch in a query string keeps its spaces (only Base64 values turn them into '+').
	xq := `<signbatch algorithm="SHA256withRSA"><singlesign Id="a"><datasource>eA==</datasource><format>CAdES</format><signsaver><class>no such class</class></signsaver></singlesign></signbatch>`
	resp, err = e.ts.Client().Get(e.ts.URL + batch.PathXMLPresign + "?xml=" + url.QueryEscape(xq) + "&certs=" + url.QueryEscape(certs))
	if err != nil {
		t.Fatal(err)
	}
	xb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(xb), `"no such class" is not available`) {
		t.Errorf("GET raw XML: HTTP %d %s", resp.StatusCode, xb)
	}
	// Standard Base64 with an unencoded '+' in a query string (decoded into a space) works.
	plus := strings.ReplaceAll(b64.EncodeStd(pki.RSA.Cert.Raw), "+", " ")
	if !strings.Contains(plus, " ") {
		t.Fatal("the test certificate has no '+' in standard Base64")
	}
	resp, err = e.ts.Client().Get(e.ts.URL + batch.PathJSONPresign + "?json=" + url.QueryEscape(js(okBatch)) + "&certs=" + strings.ReplaceAll(b64.EncodeStd(pki.RSA.Cert.Raw), "/", "%2F"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET with '+' in the query: HTTP %d", resp.StatusCode)
	}
	// Percent-encoded POST values work too.
	code, body := e.post(batch.PathJSONPresign, "json", url.QueryEscape(js(okBatch)), "certs", url.PathEscape(certs))
	if code != http.StatusOK {
		t.Errorf("percent-encoded POST: HTTP %d %s", code, body)
	}
}

// TestEntryErrors checks per-entry failures that do not stop a batch.
func TestEntryErrors(t *testing.T) {
	pki := testpki.Get(t)
	_, fetcher := docServer(t, nil)
	e := newEnv(t, func(c *batch.Config) { c.MaxDocSize = 1000; c.DisableText = true; c.Fetcher = fetcher })
	b := &batch.Batch{Algorithm: "SHA256", StopOnError: false, Items: []*batch.Item{
		{ID: "ok", Format: trifirma.FormatNONE, Source: batch.Source{Kind: batch.SourceBase64, Value: b64.EncodeStd([]byte("hola"))}},
		{ID: "no-format", Source: batch.Source{Kind: batch.SourceBase64, Value: "eA=="}},
		{ID: "no-engine", Format: trifirma.FormatCAdESASiCS, Source: batch.Source{Kind: batch.SourceBase64, Value: "eA=="}},
		{ID: "too-big", Format: trifirma.FormatNONE, Source: batch.Source{Kind: batch.SourceBase64, Value: b64.EncodeStd(make([]byte, 1001))}},
		{ID: "text", Format: trifirma.FormatNONE, Source: batch.ClassifyDatasource("texto plano")},
		{ID: "file-url", Format: trifirma.FormatNONE, Source: batch.ClassifyDatasource("file:///etc/passwd")},
		{ID: "metadata", Format: trifirma.FormatNONE, Source: batch.ClassifyDatasource("http://169.254.169.254/latest/meta-data/")},
		{ID: "ref", Format: trifirma.FormatNONE, Source: batch.Source{Kind: batch.SourceReference, Value: "!!"}},
	}}
	p, err := e.signer.Presign(context.Background(), b, pki.RSA.Chain)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Sessions) != 1 || p.Sessions[0].ID != "ok" {
		t.Fatalf("sessions %+v", p.Sessions)
	}
	want := map[string]string{
		"no-format": "no default format", "no-engine": "no engine for CAdES-ASiC-S", "too-big": "the maximum is 1000",
		"text": "plain-text data sources are disabled", "file-url": "only http and https",
		"metadata": "not under an allowed prefix", "ref": "could not be retrieved",
	}
	for _, f := range p.Failures {
		if f.Code != batch.ErrorPre || !strings.Contains(f.Description, want[f.ID]) {
			t.Errorf("%s: %s %q, want ERROR_PRE containing %q", f.ID, f.Code, f.Description, want[f.ID])
		}
		delete(want, f.ID)
	}
	if len(want) > 0 {
		t.Errorf("no failure reported for %v", want)
	}
	// Without a fetcher, URLs are refused.
	e2 := newEnv(t, nil)
	p, err = e2.signer.Presign(context.Background(), &batch.Batch{Algorithm: "SHA256", Items: []*batch.Item{
		{ID: "u", Format: trifirma.FormatNONE, Source: batch.ClassifyDatasource("https://example.org/doc.pdf")},
	}}, pki.RSA.Chain)
	if err != nil || len(p.Failures) != 1 || !strings.Contains(p.Failures[0].Description, "does not download URL") {
		t.Errorf("URL without fetcher: %+v %v", p, err)
	}
}

// TestGoAPIUnsaved: entries with nothing to save them return their signature.
func TestGoAPIUnsaved(t *testing.T) {
	pki := testpki.Get(t)
	e := newEnv(t, nil)
	b := simpleBatch(3, trifirma.FormatCAdES)
	p, err := e.signer.Presign(context.Background(), b, pki.EC.Chain)
	if err != nil {
		t.Fatal(err)
	}
	td := p.Session()
	if err := client.SignSession(td, pki.EC.Key, b.Algorithm); err != nil {
		t.Fatal(err)
	}
	res, err := e.signer.PostsignWith(context.Background(), b, pki.EC.Chain, td, batch.PostsignOptions{NoManager: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Code != batch.DoneButNotSavedYet || len(r.Signature) == 0 {
			t.Fatalf("%+v", r)
		}
		validateCAdES(t, pki, r.Signature, document(r.ID, 300), 1)
	}
	// The results JSON carries the reference's code.
	if out := string(batch.AppendJSONResults(nil, res[:1])); out != `{"signs":[{"id":"doc-1", "result":"DONE_BUT_NOT_SAVED_YET"}]}` {
		t.Errorf("results JSON %s", out)
	}
}

// formatEngine gives its sessions a format attribute, which the seal binds.
type formatEngine struct{ trifirma.Engine }

func (f formatEngine) Presign(ctx context.Context, req *trifirma.Request) (*trifirma.TriphaseData, error) {
	td, err := f.Engine.Presign(ctx, req)
	if err == nil {
		td.Format = "NONE-with-format"
	}
	return td, err
}

func (f formatEngine) Postsign(ctx context.Context, req *trifirma.Request, td *trifirma.TriphaseData) ([]byte, error) {
	if td.Format != "NONE-with-format" {
		return nil, fmt.Errorf("session format %q was not restored", td.Format)
	}
	return f.Engine.Postsign(ctx, req, td)
}

// TestSessionFormat: a per-entry session format survives the batch wire (which has none).
func TestSessionFormat(t *testing.T) {
	pki := testpki.Get(t)
	e := newEnv(t, func(c *batch.Config) {
		c.Presigner.Engines[trifirma.FormatNONE] = formatEngine{c.Presigner.Engines[trifirma.FormatNONE]}
	})
	b := simpleBatch(2, trifirma.FormatNONE)
	got := e.signJSON(b, pki.RSA, nil)
	checkResults(t, got, map[string]batch.Code{"doc-1": batch.DoneAndSaved, "doc-2": batch.DoneAndSaved})
	validateRaw(t, pki.RSA.Cert, "sha256", document("doc-1", 300), e.store.get("doc-1"))
}

// TestURLSourceSSRF: URL data sources are downloaded only from allowed prefixes and never
// from loopback (unless allowed), private, link-local or metadata addresses, also after a
// redirect or through a name.
func TestURLSourceSSRF(t *testing.T) {
	pki := testpki.Get(t)
	doc := document("ssrf", 500)
	srv, _ := docServer(t, map[string][]byte{"/expedientes/ok.txt": doc})
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://metadata.test/latest/meta-data/iam", http.StatusFound)
	}))
	defer redirect.Close()
	names := map[string]string{"metadata.test": "169.254.169.254", "intranet.test": "192.168.10.5", "docs.test": "127.0.0.1"}
	port := srv[strings.LastIndexByte(srv, ':')+1:]
	prefixes := []string{srv + "/expedientes/", redirect.URL + "/", "http://metadata.test/", "http://intranet.test/",
		"http://docs.test:" + port + "/expedientes/", "http://10.0.0.1/"}
	strict := guardedFetcherAllow(t, prefixes, names, nil)
	loose := guardedFetcher(t, prefixes, names)
	items := []*batch.Item{
		{ID: "loopback", Source: batch.ClassifyDatasource(srv + "/expedientes/ok.txt")},
		{ID: "loopback-name", Source: batch.ClassifyDatasource("http://docs.test:" + port + "/expedientes/ok.txt")},
		{ID: "metadata-name", Source: batch.ClassifyDatasource("http://metadata.test/latest/meta-data/")},
		{ID: "private-name", Source: batch.ClassifyDatasource("http://intranet.test/x.pdf")},
		{ID: "private-address", Source: batch.ClassifyDatasource("http://10.0.0.1/x.pdf")},
		{ID: "redirect", Source: batch.ClassifyDatasource(redirect.URL + "/doc")},
		{ID: "not-allowed", Source: batch.ClassifyDatasource("https://example.org/doc.pdf")},
	}
	for _, it := range items {
		it.Format = trifirma.FormatNONE
	}
	run := func(f *fetch.Fetcher) map[string]string {
		e := newEnv(t, func(c *batch.Config) { c.Fetcher = f })
		p, err := e.signer.Presign(context.Background(), &batch.Batch{Algorithm: "SHA256", Items: items}, pki.RSA.Chain)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, s := range p.Sessions {
			out[s.ID] = "OK"
		}
		for _, f := range p.Failures {
			out[f.ID] = f.Description
		}
		return out
	}
	for name, c := range map[string]struct {
		f    *fetch.Fetcher
		want map[string]string
	}{
		"loopback not allowed": {strict, map[string]string{"loopback": "loopback", "loopback-name": "loopback", "redirect": "127.0.0.1 is loopback"}},
		"loopback allowed":     {loose, map[string]string{"loopback": "OK", "loopback-name": "OK"}},
	} {
		t.Run(name, func(t *testing.T) {
			got := run(c.f)
			want := map[string]string{
				"metadata-name": "169.254.169.254 is link-local", "private-name": "192.168.10.5 is private",
				"private-address": "10.0.0.1 is private", "redirect": "169.254.169.254 is link-local",
				"not-allowed": "not under an allowed prefix",
			}
			for k, v := range c.want {
				want[k] = v
			}
			for id, w := range want {
				if g := got[id]; !(g == w || (w != "OK" && strings.Contains(g, w))) {
					t.Errorf("%s: %q, want %q", id, g, w)
				}
			}
		})
	}
}

// TestMultiInstance: presign on one server and postsign on another that shares only the
// sealing key (no server-side state).
func TestMultiInstance(t *testing.T) {
	pki := testpki.Get(t)
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	shared := func(c *batch.Config) {
		s, err := trifirma.NewSealer(key)
		if err != nil {
			t.Fatal(err)
		}
		c.Presigner.Sealer, c.Postsigner.Sealer = s, s
	}
	a, b := newEnv(t, shared), newEnv(t, shared)
	other := newEnv(t, nil) // a different key
	bt := simpleBatch(3, trifirma.FormatCAdES)
	p, err := a.signer.Presign(context.Background(), bt, pki.RSA.Chain)
	if err != nil {
		t.Fatal(err)
	}
	td := p.Session()
	if err := client.SignSession(td, pki.RSA.Key, bt.Algorithm); err != nil {
		t.Fatal(err)
	}
	res, err := b.signer.Postsign(context.Background(), bt, pki.RSA.Chain, td)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Code != batch.DoneAndSaved {
			t.Errorf("%+v", r)
		}
	}
	validateCAdES(t, pki, b.store.get("doc-2"), document("doc-2", 300), 1)
	res, err = other.signer.Postsign(context.Background(), bt, pki.RSA.Chain, td)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Code != batch.ErrorPost || !strings.Contains(r.Description, "seal does not match") {
			t.Errorf("another key: %+v", r)
		}
	}
}
