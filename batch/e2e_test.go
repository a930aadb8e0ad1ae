package batch_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/batch"
	"github.com/trifirma/trifirma/batch/saver"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/internal/testpki"
)

// document returns a deterministic document of n bytes.
func document(name string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "Resolución %s, apartado %d: se resuelve lo que consta en el expediente.\n", name, i)
	}
	return b.Bytes()[:n]
}

// existingCMS returns an implicit CAdES signature of doc by RSA2 (input of cosign and
// countersign entries), itself checked by the validators.
func existingCMS(t *testing.T, pki *testpki.PKI, doc []byte) []byte {
	t.Helper()
	sig, err := trifirma.Sign(context.Background(), doc, pki.RSA2.Key, pki.RSA2.Chain, trifirma.SignOptions{
		Engine: cades.New(cades.Config{}), Format: trifirma.FormatCAdES, Params: trifirma.Params{"mode": "implicit"},
	})
	if err != nil {
		t.Fatal(err)
	}
	validateCAdES(t, pki, sig, nil, 1)
	return sig
}

// mixedBatch is a batch of mixed formats and suboperations (and one entry that cannot be
// presigned), with what each entry's signature must look like.
type expectation struct {
	detached []byte // CAdES explicit content, or the NONE document
	signers  int
	none     bool
}

func mixedBatch(t *testing.T, pki *testpki.PKI) (*batch.Batch, map[string]expectation) {
	d1, d2, d3, d5 := document("1", 10<<10), document("2", 3000), document("3", 500), document("5", 200)
	existing := existingCMS(t, pki, d3)
	b := &batch.Batch{
		Algorithm: "SHA256", Format: trifirma.FormatCAdES, Operation: trifirma.OpSign,
		Items: []*batch.Item{
			{ID: "res-001-explicit", Source: batch.Source{Value: b64.EncodeURL(d1)}},
			{ID: "res-002-implicit", Source: batch.Source{Value: b64.EncodeStd(d2)}, Params: trifirma.Params{"mode": "implicit"}},
			{ID: "res-003-cosign", Source: batch.Source{Value: b64.EncodeURL(existing)}, Operation: trifirma.OpCoSign},
			{ID: "res-004-countersign", Source: batch.Source{Value: b64.EncodeURL(existing)}, Operation: trifirma.OpCounterSign,
				Params: trifirma.Params{"target": "tree"}},
			{ID: "res-005-none", Source: batch.Source{Value: b64.EncodeURL(d5)}, Format: trifirma.FormatNONE},
			{ID: "res-006-bad", Source: batch.Source{Value: b64.EncodeURL([]byte("not a CMS signature"))}, Operation: trifirma.OpCoSign},
		},
	}
	return b, map[string]expectation{
		"res-001-explicit":    {detached: d1, signers: 1},
		"res-002-implicit":    {signers: 1},
		"res-003-cosign":      {signers: 2},
		"res-004-countersign": {signers: 2},
		"res-005-none":        {detached: d5, none: true},
	}
}

func checkSignature(t *testing.T, pki *testpki.PKI, id *testpki.Identity, name string, sig []byte, x expectation) {
	t.Helper()
	if len(sig) == 0 {
		t.Errorf("%s: no signature stored", name)
		return
	}
	if x.none {
		validateRaw(t, id.Cert, "sha256", x.detached, sig)
		return
	}
	validateCAdES(t, pki, sig, x.detached, x.signers)
}

// TestJSONBatch signs a mixed batch through real HTTP exactly as AutoFirma does and checks
// every stored signature with the independent validators.
func TestJSONBatch(t *testing.T) {
	pki := testpki.Get(t)
	for name, id := range pki.Identities() {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			b, want := mixedBatch(t, pki)
			got := e.signJSON(b, id, nil)
			codes := map[string]batch.Code{"res-006-bad": batch.ErrorPre}
			for k := range want {
				codes[k] = batch.DoneAndSaved
			}
			checkResults(t, got, codes)
			for k, x := range want {
				checkSignature(t, pki, id, k, e.store.get(k), x)
				if f := e.store.fmts[k]; f == "" {
					t.Errorf("%s stored without format", k)
				}
			}
			if e.store.fmts["res-005-none"] != "NONE" || e.store.fmts["res-001-explicit"] != "CAdES" {
				t.Errorf("stored formats %v", e.store.fmts)
			}
		})
	}
}

// TestXMLBatch signs a mixed XML batch (Base64, text and URL sources) through real HTTP and
// saves with the file saver.
func TestXMLBatch(t *testing.T) {
	pki := testpki.Get(t)
	out := t.TempDir()
	fileSaver, err := saver.File(saver.FileConfig{Root: out, MkdirAll: true})
	if err != nil {
		t.Fatal(err)
	}
	reg := batch.NewSaverRegistry()
	reg.Register(batch.ClassSaverFile, fileSaver)
	docSrv, fetcher := docServer(t, map[string][]byte{"/expedientes/7.txt": document("7", 4000)})
	e := newEnv(t, func(c *batch.Config) { c.Savers = reg; c.Fetcher = fetcher })
	b, want := mixedBatch(t, pki)
	b.Format = ""
	b.Algorithm = "SHA512withRSA"
	text := "Hola Mundo, firma de texto plano"
	b.Items = append(b.Items,
		&batch.Item{ID: "res-007-url", Source: batch.ClassifyDatasource(docSrv + "/expedientes/7.txt"), Params: trifirma.Params{"mode": "implicit"}},
		&batch.Item{ID: "res-008-text", Source: batch.ClassifyDatasource(text)},
	)
	want["res-007-url"] = expectation{signers: 1}
	want["res-008-text"] = expectation{detached: []byte(text), signers: 1}
	files := map[string]string{}
	for i, it := range b.Items {
		if it.Format == "" {
			it.Format = trifirma.FormatCAdES
		}
		if it.Source.Kind == batch.SourceReference {
			it.Source.Kind = batch.SourceBase64
		}
		name := fmt.Sprintf(`firmas\lote 1\%02d-%s.sig`, i, it.ID)
		files[it.ID] = filepath.Join(out, "firmas", "lote 1", fmt.Sprintf("%02d-%s.sig", i, it.ID))
		it.SaverSpec = &batch.SaverSpec{Class: batch.ClassSaverFile, Config: trifirma.Params{saver.KeyFileName: name}}
	}
	b.StopOnError = false
	for name, id := range map[string]*testpki.Identity{"RSA": pki.RSA, "ECDSA": pki.EC} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				for _, f := range files {
					_ = os.Remove(f)
				}
			}()
			code, body, got := e.signXML(b, id, nil)
			if code != http.StatusOK {
				t.Fatalf("HTTP %d: %s", code, body)
			}
			codes := map[string]batch.Code{"res-006-bad": batch.ErrorPre}
			for k := range want {
				codes[k] = batch.DoneAndSaved
			}
			checkResults(t, got, codes)
			for k, x := range want {
				sig, err := os.ReadFile(files[k])
				if err != nil {
					t.Errorf("%s: %v", k, err)
					continue
				}
				if k == "res-005-none" {
					validateRaw(t, id.Cert, "sha512", want[k].detached, sig)
					continue
				}
				checkSignature(t, pki, id, k, sig, x)
			}
			if _, err := os.Stat(files["res-006-bad"]); err == nil {
				t.Error("a file was written for the failed entry")
			}
			entries, _ := os.ReadDir(filepath.Join(out, "firmas", "lote 1"))
			for _, de := range entries {
				if strings.HasPrefix(de.Name(), ".") {
					t.Errorf("temporary file left behind: %s", de.Name())
				}
			}
		})
	}
}

// TestXMLDisabled: the XML services answer 503 unless enabled.
func TestXMLDisabled(t *testing.T) {
	e := newEnv(t, func(c *batch.Config) { c.XMLEnabled = false })
	for _, p := range []string{batch.PathXMLPresign, batch.PathXMLPostsign} {
		code, body := e.post(p, "xml", "PHNpZ25iYXRjaC8+", "certs", "x")
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "desactivado") {
			t.Errorf("%s: HTTP %d %q", p, code, body)
		}
	}
}
