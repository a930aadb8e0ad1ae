package batch_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/batch"
	"github.com/trifirma/trifirma/batch/saver"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/internal/testenv"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot:  %s\nwant: %s", name, got, want)
	}
}

func fixedPresigned() *batch.Presigned {
	sd := func(id, signid string, kv ...string) *trifirma.SignData {
		s := &trifirma.SignData{ID: id, SignID: signid}
		for i := 0; i+1 < len(kv); i += 2 {
			s.Set(kv[i], kv[i+1])
		}
		return s
	}
	return &batch.Presigned{
		Format: "CAdES",
		Sessions: []batch.ItemSession{
			{ID: "a", Session: &trifirma.TriphaseData{Signs: []*trifirma.SignData{
				sd("a", "", "PRE", "MYIBGjAYBgkqhkiG9w0BCQMxCwYJKoZIhvcNAQcB", "NEED_PRE", "true", "SEAL", "1.AAAA"),
			}}},
			{ID: "c\"s", Session: &trifirma.TriphaseData{Signs: []*trifirma.SignData{
				sd("t1+/=", "c\"s", "PRE", "AAAA", "NEED_PRE", "true"),
				sd("t2", "c\"s", "PRE", "BBBB", "NEED_PRE", "true"),
			}}},
		},
		Failures: []batch.Result{
			{ID: "b", Code: batch.ErrorPre, Description: "trifirma: invalid document: \"x\"\n<tab>\t\\"},
			{ID: "d", Code: batch.Skipped},
		},
	}
}

func fixedResults() []batch.Result {
	return []batch.Result{
		{ID: "a", Code: batch.DoneAndSaved},
		{ID: "b", Code: batch.ErrorPre, Description: "Error en la prefirma"},
		{ID: "c\"<&>", Code: batch.DoneButErrorSaving, Description: "the signature could not be saved: disk \"full\" <now>"},
		{ID: "d", Code: batch.SaveRollbacked},
		{ID: "ñ", Code: batch.DoneButNotSavedYet},
	}
}

func TestGolden(t *testing.T) {
	golden(t, "presign.json", batch.AppendJSONPresign(nil, fixedPresigned()))
	golden(t, "presign-empty.json", batch.AppendJSONPresign(nil, &batch.Presigned{}))
	golden(t, "presign.xml", batch.AppendXMLPresign(nil, fixedPresigned()))
	golden(t, "results.json", batch.AppendJSONResults(nil, fixedResults()))
	golden(t, "results.xml", batch.AppendXMLResults(nil, fixedResults()))
	td := fixedPresigned().Session()
	golden(t, "session.json", batch.AppendJSONSession(nil, "CAdES", td))
	b := &batch.Batch{
		Algorithm: "SHA256withRSA", StopOnError: true, ConcurrentTimeout: 30 * time.Second, ID: "LOTE-1",
		Items: []*batch.Item{{
			ID: "7725374e", Format: trifirma.FormatXAdES, Operation: trifirma.OpSign,
			Source: batch.ClassifyDatasource("SG9sYSBNdW5kbw=="), Params: trifirma.Params{"mode": "implicit"},
			SaverSpec: &batch.SaverSpec{Class: batch.ClassSaverFile, Config: trifirma.Params{saver.KeyFileName: `C:\tmp\FIRMA1.xml`}},
		}},
	}
	x, err := b.AppendXML(nil)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "batch.xml", x)
	j, err := b.MarshalJSON()
	if err == nil {
		t.Fatalf("a Base64 source marshalled as a JSON datareference: %s", j)
	}
	b.Items[0].Source.Kind = batch.SourceReference
	b.Params = trifirma.Params{"headless": "false"}
	if j, err = b.MarshalJSON(); err != nil {
		t.Fatal(err)
	}
	golden(t, "batch.json", j)
}

// TestGoldenParses checks that what the codecs write, their parsers read back.
func TestGoldenParses(t *testing.T) {
	if _, err := batch.ParseJSONSession(batch.AppendJSONPresign(nil, fixedPresigned())[len(`{"td":`):]); err == nil {
		t.Fatal("trailing data accepted")
	}
	out := batch.AppendJSONPresign(nil, fixedPresigned())
	inner := out[len(`{"td":`):bytes.Index(out, []byte(`,"results"`))]
	td, err := batch.ParseJSONSession(inner)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(td.Signs, fixedPresigned().Session().Signs) || td.Format != "CAdES" {
		t.Errorf("nested session round trip: %+v", td)
	}
	xtd, err := trifirma.ParseTriphaseData(batch.AppendXMLPresign(nil, fixedPresigned()))
	if err != nil || !reflect.DeepEqual(xtd.Signs, fixedPresigned().Session().Signs) {
		t.Errorf("XML session round trip: %v %+v", err, xtd)
	}
}

func TestParseJSON(t *testing.T) {
	b, err := batch.ParseJSON([]byte(`{"algorithm":"SHA256withECDSA","format":"cadestri","suboperation":"COSIGN",
		"stoponerror":"TRUE","concurrenttimeout":"9223372036854775807","extraparams":"` + trifirma.Params{"mode": "implicit"}.Encode() + `",
		"singlesigns":[{"id":"1","datareference":"eA=="},{"id":"2","datareference":"eQ==","format":"XAdES","suboperation":"sign","extraparams":""},
		{"id":"3","result":"ERROR_PRE","description":"no"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if b.Algorithm != "SHA256withECDSA" || b.Format != trifirma.FormatCAdES || b.Operation != trifirma.OpCoSign ||
		!b.StopOnError || b.ConcurrentTimeout != 0 || b.Params["mode"] != "implicit" || len(b.Items) != 3 {
		t.Fatalf("%+v", b)
	}
	if it := b.Items[0]; it.Params != nil || it.Format != "" || it.Source.Kind != batch.SourceReference || it.Source.Value != "eA==" {
		t.Errorf("entry 1: %+v", it)
	}
	if it := b.Items[1]; it.Params == nil || len(it.Params) != 0 || it.Format != trifirma.FormatXAdES || it.Operation != trifirma.OpSign {
		t.Errorf("entry 2: %+v (its own empty extraparams replace the batch's)", it)
	}
	if it := b.Items[2]; it.Result != batch.ErrorPre || it.Description != "no" {
		t.Errorf("entry 3: %+v", it)
	}
	for _, bad := range []string{
		``, `[]`, `{"singlesigns":{}}`, `{}`, `{"singlesigns":[{"id":1,"datareference":"x"}]}`,
		`{"stoponerror":"maybe","singlesigns":[]}`, `{"concurrenttimeout":"x","singlesigns":[]}`,
		`{"extraparams":"!!","singlesigns":[]}`, `{"singlesigns":[]} {}`, "{\"singlesigns\":[],\"x\":\"\xff\"}",
		`{"singlesigns":[{"id":"","datareference":"x"}]}`, `{"singlesigns":[{"id":"a","datareference":"x","extraparams":"%%"}]}`,
	} {
		if _, err := batch.ParseJSON([]byte(bad)); !errors.Is(err, batch.ErrInvalidBatch) {
			t.Errorf("ParseJSON(%q) = %v", bad, err)
		}
	}
}

func TestParseXML(t *testing.T) {
	x := `<?xml version="1.0" encoding="UTF-8" ?>
<!-- a comment -->
<signbatch stoponerror="false" algorithm="SHA256withRSA" concurrenttimeout="9223372036854775807" Id="L1">
 <singlesign Id="u"><datasource> http://example.org/a.pdf </datasource><format>PAdES</format>
  <suboperation>sign</suboperation><extraparams/>
  <signsaver><class>es.gob.afirma.signers.batch.SignSaverHttpPost</class><config>` + trifirma.Params{"PostUrl": "https://x/y", "PostParamName": "p"}.Encode() + `</config></signsaver></singlesign>
 <singlesign id="b64"><datasource>SG9sYSBNdW5kbw==</datasource><format>CAdES</format>
  <signsaver><class>x</class></signsaver></singlesign>
 <singlesign Id="txt"><datasource>Hola Mundo</datasource><format>cades</format><suboperation>COSIGN</suboperation>
  <signsaver><config></config><class>x</class></signsaver></singlesign>
</signbatch>`
	b, err := batch.ParseXML([]byte(x))
	if err != nil {
		t.Fatal(err)
	}
	if b.StopOnError || b.ConcurrentTimeout != 0 || b.ID != "L1" || len(b.Items) != 3 {
		t.Fatalf("%+v", b)
	}
	if it := b.Items[0]; it.Source != (batch.Source{Kind: batch.SourceURL, Value: "http://example.org/a.pdf"}) || it.Format != trifirma.FormatPAdES ||
		it.SaverSpec.Class != batch.ClassSaverHTTPPost || it.SaverSpec.Config["PostParamName"] != "p" {
		t.Errorf("entry u: %+v %+v", it, it.SaverSpec)
	}
	if it := b.Items[1]; it.ID != "b64" || it.Source.Kind != batch.SourceBase64 || it.Operation != trifirma.OpSign {
		t.Errorf("entry b64: %+v", it)
	}
	if it := b.Items[2]; it.Source != (batch.Source{Kind: batch.SourceText, Value: "Hola Mundo"}) || it.Operation != trifirma.OpCoSign {
		t.Errorf("entry txt: %+v", it)
	}
	// stoponerror defaults to true in XML batches.
	b, err = batch.ParseXML([]byte(`<signbatch algorithm="SHA1withRSA"><singlesign Id="a"><datasource>x</datasource><format>CAdES</format><signsaver><class>c</class></signsaver></singlesign></signbatch>`))
	if err != nil || !b.StopOnError {
		t.Fatalf("%+v %v", b, err)
	}
	ok := `<singlesign Id="a"><datasource>x</datasource><format>CAdES</format><signsaver><class>c</class></signsaver></singlesign>`
	for name, bad := range map[string]string{
		"empty":             ``,
		"wrong root":        `<batch algorithm="x">` + ok + `</batch>`,
		"no algorithm":      `<signbatch>` + ok + `</signbatch>`,
		"no entries":        `<signbatch algorithm="SHA256withRSA"></signbatch>`,
		"no Id":             `<signbatch algorithm="a"><singlesign><datasource>x</datasource><format>CAdES</format><signsaver><class>c</class></signsaver></singlesign></signbatch>`,
		"unknown element":   `<signbatch algorithm="a"><singlesign Id="a"><datasource>x</datasource><format>CAdES</format><foo/><signsaver><class>c</class></signsaver></singlesign></signbatch>`,
		"repeated":          `<signbatch algorithm="a"><singlesign Id="a"><datasource>x</datasource><datasource>y</datasource><format>CAdES</format><signsaver><class>c</class></signsaver></singlesign></signbatch>`,
		"nested":            `<signbatch algorithm="a"><singlesign Id="a"><datasource><x/></datasource><format>CAdES</format><signsaver><class>c</class></signsaver></singlesign></signbatch>`,
		"no datasource":     `<signbatch algorithm="a"><singlesign Id="a"><format>CAdES</format><signsaver><class>c</class></signsaver></singlesign></signbatch>`,
		"no format":         `<signbatch algorithm="a"><singlesign Id="a"><datasource>x</datasource><signsaver><class>c</class></signsaver></singlesign></signbatch>`,
		"bad format":        `<signbatch algorithm="a"><singlesign Id="a"><datasource>x</datasource><format>ODF</format><signsaver><class>c</class></signsaver></singlesign></signbatch>`,
		"no saver":          `<signbatch algorithm="a"><singlesign Id="a"><datasource>x</datasource><format>CAdES</format></singlesign></signbatch>`,
		"no class":          `<signbatch algorithm="a"><singlesign Id="a"><datasource>x</datasource><format>CAdES</format><signsaver><config/></signsaver></singlesign></signbatch>`,
		"bad timeout":       `<signbatch algorithm="a" concurrenttimeout="1.5">` + ok + `</signbatch>`,
		"text in batch":     `<signbatch algorithm="a">hola` + ok + `</signbatch>`,
		"content after":     `<signbatch algorithm="a">` + ok + `</signbatch><x/>`,
		"unterminated":      `<signbatch algorithm="a">` + ok,
		"doctype":           `<!DOCTYPE signbatch><signbatch algorithm="a">` + ok + `</signbatch>`,
		"entity":            `<signbatch algorithm="a"><singlesign Id="&e;"/></signbatch>`,
		"bad extraparams":   `<signbatch algorithm="a"><singlesign Id="a"><datasource>x</datasource><format>CAdES</format><extraparams>!!</extraparams><signsaver><class>c</class></signsaver></singlesign></signbatch>`,
		"bad saver config":  `<signbatch algorithm="a"><singlesign Id="a"><datasource>x</datasource><format>CAdES</format><signsaver><class>c</class><config>!!</config></signsaver></singlesign></signbatch>`,
		"unknown saver el":  `<signbatch algorithm="a"><singlesign Id="a"><datasource>x</datasource><format>CAdES</format><signsaver><class>c</class><x/></signsaver></singlesign></signbatch>`,
		"bad suboperation":  `<signbatch algorithm="a"><singlesign Id="a"><datasource>x</datasource><format>CAdES</format><suboperation>x</suboperation><signsaver><class>c</class></signsaver></singlesign></signbatch>`,
		"unknown top child": `<signbatch algorithm="a"><other/></signbatch>`,
	} {
		if _, err := batch.ParseXML([]byte(bad)); !errors.Is(err, batch.ErrInvalidBatch) {
			t.Errorf("%s: ParseXML = %v", name, err)
		}
	}
	big := []byte(`<signbatch algorithm="a">` + strings.Repeat(" ", batch.MaxXMLBatchSize) + ok + `</signbatch>`)
	if _, err := batch.ParseXML(big); !errors.Is(err, batch.ErrLimits) {
		t.Errorf("1 MiB: %v", err)
	}
}

func TestClassifyDatasource(t *testing.T) {
	for in, want := range map[string]batch.SourceKind{
		"http://google.com": batch.SourceURL, "HTTPS://x/y": batch.SourceURL, "file:///etc/passwd": batch.SourceURL,
		"ftp://x": batch.SourceURL, "SG9sYSBNdW5kbw==": batch.SourceBase64, "SG9s\nYSBN dW5k bw==": batch.SourceBase64,
		"a-_b": batch.SourceBase64, "Hola Mundo": batch.SourceText, "abc": batch.SourceText, "ab=c": batch.SourceText,
		"a===": batch.SourceText, "<xml/>": batch.SourceText, "Hola": batch.SourceBase64,
	} {
		if got := batch.ClassifyDatasource(in); got.Kind != want {
			t.Errorf("ClassifyDatasource(%q) = %v, want %v", in, got.Kind, want)
		}
	}
}

func TestParseJSONSession(t *testing.T) {
	flat := `{"format":"CAdES","signinfo":[{"id":"a","signid":null,"params":{"PRE":"AA==","PK1":"BB==","NEED_PRE":"true"}}]}`
	td, err := batch.ParseJSONSession([]byte(flat))
	if err != nil {
		t.Fatal(err)
	}
	if td.Format != "CAdES" || len(td.Signs) != 1 || td.Signs[0].Params[1] != (trifirma.Param{Name: "PK1", Value: "BB=="}) {
		t.Fatalf("%+v", td.Signs[0])
	}
	for _, bad := range []string{
		`{}`, `{"signinfo":{}}`, `{"signinfo":[{"params":{}}]}`, `{"signinfo":[{"id":"a"}]}`,
		`{"signinfo":[{"id":"a","params":[]}]}`, `{"signinfo":[{"id":"a","params":{"x":{}}}]}`,
		`{"signs":[{}]}`, `{"signs":[{"signinfo":[{"id":"a","params":{"x":null}}]}]}`, `{"signinfo":[]}x`,
	} {
		if _, err := batch.ParseJSONSession([]byte(bad)); !errors.Is(err, trifirma.ErrInvalidSession) {
			t.Errorf("ParseJSONSession(%q) = %v", bad, err)
		}
	}
}

func TestBatchAlgorithm(t *testing.T) {
	pki := testpki.Get(t)
	for _, c := range []struct {
		name string
		id   *testpki.Identity
		want string
	}{
		{"SHA256", pki.RSA, "SHA256withRSA"}, {"SHA512withRSA", pki.EC, "SHA512withECDSA"},
		{"SHA284withECDSA", pki.EC384, "SHA384withECDSA"}, {"sha-1", pki.RSA, "SHA1withRSA"},
	} {
		a, err := batch.BatchAlgorithm(c.name, c.id.Cert)
		if err != nil || a.String() != c.want {
			t.Errorf("%s: %v %v, want %s", c.name, a, err, c.want)
		}
	}
	if _, err := batch.BatchAlgorithm("MD5withRSA", pki.RSA.Cert); !errors.Is(err, trifirma.ErrUnsupportedAlgorithm) {
		t.Errorf("MD5: %v", err)
	}
	if _, err := batch.BatchAlgorithm(" ", pki.RSA.Cert); !errors.Is(err, batch.ErrInvalidBatch) {
		t.Errorf("empty: %v", err)
	}
}

// TestReferenceSample reads the reference's sample batch (two countersignatures, target=tree,
// SignSaverFile with absolute Windows file names) and runs it: the CAdES entry countersigns the
// reference's CMS and the XAdES entry the reference's XAdES Detached signature.
func TestReferenceSample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testenv.Refdata(t, "batch"), "batch-with-countersign.xml"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := batch.ParseXML(raw)
	if err != nil {
		t.Fatal(err)
	}
	if b.StopOnError || b.Algorithm != "SHA256withRSA" || len(b.Items) != 2 {
		t.Fatalf("%+v", b)
	}
	for _, it := range b.Items {
		if it.Operation != trifirma.OpCounterSign || it.Params["target"] != "tree" || it.Source.Kind != batch.SourceBase64 ||
			it.SaverSpec.Class != batch.ClassSaverFile || !strings.HasPrefix(it.SaverSpec.Config[saver.KeyFileName], "C:/Users/carlos/") {
			t.Errorf("entry %s: %+v %+v", it.ID, it, it.SaverSpec)
		}
	}
	pki := testpki.Get(t)
	out := t.TempDir()
	strict, err := saver.File(saver.FileConfig{Root: out})
	if err != nil {
		t.Fatal(err)
	}
	reg := batch.NewSaverRegistry()
	reg.Register(batch.ClassSaverFile, strict)
	e := newEnv(t, func(c *batch.Config) { c.Savers = reg })
	certs := certsParam(pki.RSA.Chain)
	// The absolute client paths are refused by a saver confined to its directory...
	code, body := e.post(batch.PathXMLPresign, "xml", b64.EncodeURL(raw), "certs", certs)
	if code != 400 || !strings.Contains(body, "is absolute") {
		t.Fatalf("HTTP %d %q", code, body)
	}
	// ...and mapped into it with BaseNameOnly.
	flat, err := saver.File(saver.FileConfig{Root: out, BaseNameOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	reg.Register(batch.ClassSaverFile, flat)
	_, _, got := e.signXML(b, pki.RSA, nil)
	want := map[string]batch.Code{b.Items[0].ID: batch.DoneAndSaved, b.Items[1].ID: batch.DoneAndSaved}
	checkResults(t, got, want)
	xsig, err := os.ReadFile(filepath.Join(out, "CONTRAFIRMA1.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// The harness also judges the reference's own older signatures in the file (one lacks a
	// DataObjectFormat MimeType), so only xmlsec1 and xadesjs, which verify every signature, run.
	validate.XAdES(t, xsig, validate.Options{AllowSHA1: true, AllowExpired: true, SkipHarness: true})
	sig, err := os.ReadFile(filepath.Join(out, "CONTRAFIRMA1.csig"))
	if err != nil {
		t.Fatal(err)
	}
	validateCAdESLegacy(t, sig)
}
