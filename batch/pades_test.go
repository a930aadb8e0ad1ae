package batch_test

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/batch"
	"github.com/trifirma/trifirma/batch/saver"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
)

// pdfBatch is a batch of n PAdES entries (inline PDFs of about size bytes), saved to files
// when saverClass is set, through the document manager otherwise.
func pdfBatch(n, size int, saverClass string, stop bool) (*batch.Batch, [][]byte) {
	b := &batch.Batch{Algorithm: "SHA256withRSA", StopOnError: stop}
	var docs [][]byte
	for i := range n {
		id := fmt.Sprintf("pdf-%02d", i+1)
		doc := pdftest.Build(pdftest.Options{Pages: 1 + i%3, Padding: size + i})
		docs = append(docs, doc)
		it := &batch.Item{ID: id, Format: trifirma.FormatPAdES, Operation: trifirma.OpSign,
			Source: batch.Source{Kind: batch.SourceBase64, Value: b64.EncodeStd(doc)}}
		if saverClass != "" {
			it.SaverSpec = &batch.SaverSpec{Class: saverClass, Config: trifirma.Params{saver.KeyFileName: id + ".pdf"}}
		}
		b.Items = append(b.Items, it)
	}
	return b, docs
}

// checkSignedPDF validates a saved PAdES result with the external validators and checks that
// it is the original document followed by an incremental update.
func checkSignedPDF(t *testing.T, pki *testpki.PKI, out, doc []byte) {
	t.Helper()
	if len(out) <= len(doc) || string(out[:len(doc)]) != string(doc) {
		t.Fatalf("the signed PDF (%d bytes) does not start with the %d-byte document", len(out), len(doc))
	}
	validate.PAdES(t, out, validate.Options{Roots: []*x509.Certificate{pki.Root}, Signers: 1})
}

// TestPAdESBatchTransactionalSpooled signs PDFs in a transactional batch whose signatures
// overflow the in-memory spool (each one is then written to a temporary file and streamed to
// its saver from there) and validates every saved PDF.
func TestPAdESBatchTransactionalSpooled(t *testing.T) {
	pki := testpki.Get(t)
	out, spool := t.TempDir(), t.TempDir()
	f, err := saver.File(saver.FileConfig{Root: out})
	if err != nil {
		t.Fatal(err)
	}
	reg := batch.NewSaverRegistry()
	reg.Register(batch.ClassSaverFile, f)
	e := newEnv(t, func(c *batch.Config) { c.Savers = reg; c.Concurrency = 2; c.SpoolMemory = 60 << 10; c.TempDir = spool })
	b, docs := pdfBatch(5, 30<<10, batch.ClassSaverFile, true)
	code, body, got := e.signXML(b, pki.RSA, nil)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d %s", code, body)
	}
	want := map[string]batch.Code{}
	for _, it := range b.Items {
		want[it.ID] = batch.DoneAndSaved
	}
	checkResults(t, got, want)
	if left := dirEntries(t, spool); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	for i, it := range b.Items {
		sig, err := os.ReadFile(filepath.Join(out, it.ID+".pdf"))
		if err != nil {
			t.Fatal(err)
		}
		checkSignedPDF(t, pki, sig, docs[i])
	}
}

// TestPAdESBatchManager signs PDFs in a JSON batch stored through the document manager.
func TestPAdESBatchManager(t *testing.T) {
	pki := testpki.Get(t)
	e := newEnv(t, nil)
	b, docs := pdfBatch(3, 8<<10, "", false)
	for _, it := range b.Items {
		it.Source.Kind = batch.SourceReference // the manager's references are the documents
	}
	got := e.signJSON(b, pki.RSA, nil)
	want := map[string]batch.Code{}
	for _, it := range b.Items {
		want[it.ID] = batch.DoneAndSaved
	}
	checkResults(t, got, want)
	for i, it := range b.Items {
		checkSignedPDF(t, pki, e.store.get(it.ID), docs[i])
	}
}

// TestPAdESBatchHTTPPost posts a PAdES result (streamed into the Base64 form body) to a
// loopback receiver and validates what arrived.
func TestPAdESBatchHTTPPost(t *testing.T) {
	pki := testpki.Get(t)
	ts, received := formReceiver(t)
	reg := batch.NewSaverRegistry()
	reg.Register(batch.ClassSaverHTTPPost, saver.HTTPPost(guardedFetcher(t, []string{ts.URL + "/recibir"}, nil)))
	e := newEnv(t, func(c *batch.Config) { c.Savers = reg })
	b, docs := pdfBatch(2, 20<<10, batch.ClassSaverHTTPPost, false)
	for _, it := range b.Items {
		it.SaverSpec.Config = trifirma.Params{saver.KeyPostURL: ts.URL + "/recibir?id=" + it.ID, saver.KeyPostParamName: "firma"}
	}
	code, body, got := e.signXML(b, pki.RSA, nil)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d %s", code, body)
	}
	checkResults(t, got, map[string]batch.Code{"pdf-01": batch.DoneAndSaved, "pdf-02": batch.DoneAndSaved})
	for i, it := range b.Items {
		checkSignedPDF(t, pki, received(it.ID), docs[i])
	}
}
