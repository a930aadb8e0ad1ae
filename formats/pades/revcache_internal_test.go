package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
)

// TestRevisionCache checks that postsign uses the update presign kept only when it is the
// revision a rebuild would produce: the result is byte for byte the one of an engine without
// the cache (and verifies), and a different document of the same length is refused.
func TestRevisionCache(t *testing.T) {
	pki := testpki.Get(t)
	ctx := context.Background()
	alg := trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}
	doc := pdftest.Build(pdftest.Options{Pages: 2, Padding: 4 << 10})
	when := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	req := func(d []byte) *trifirma.Request {
		return &trifirma.Request{Operation: trifirma.OpSign, Document: d, Chain: pki.RSA.Chain, Algorithm: alg, Time: when,
			Params: trifirma.Params{"signReason": "prueba", "signaturePage": "1", "signaturePositionOnPageLowerLeftX": "50",
				"signaturePositionOnPageLowerLeftY": "50", "signaturePositionOnPageUpperRightX": "200", "signaturePositionOnPageUpperRightY": "100"}}
	}
	cachedEng, plainEng := New(Config{}), New(Config{RevisionCache: -1})
	td, err := cachedEng.Presign(ctx, req(doc))
	if err != nil {
		t.Fatal(err)
	}
	pre, _ := td.Signs[0].Bytes(trifirma.ParamPRE)
	sig, err := pki.RSA.Key.Sign(nil, alg.Digest(pre), alg.SignerOpts())
	if err != nil {
		t.Fatal(err)
	}
	td.Signs[0].Set(trifirma.ParamPK1, trifirma.EncodeStd(sig))

	got, err := cachedEng.Postsign(ctx, req(doc), td)
	if err != nil {
		t.Fatal(err)
	}
	if cachedEng.revs.hits != 1 {
		t.Fatalf("postsign did not use the kept update (hits %d)", cachedEng.revs.hits)
	}
	want, err := plainEng.Postsign(ctx, req(doc), td)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the kept update gives another PDF than the rebuilt one")
	}
	validate.PAdES(t, got, validate.Options{Roots: []*x509.Certificate{pki.Root}, Signers: 1})

	// Same length, one byte changed inside the document: the kept update is found, the digest
	// does not give PRE, the rebuild does not either, and nothing is signed.
	other := bytes.Clone(doc)
	i := bytes.Index(other, []byte("padding line"))
	other[i] = 'P' // inside the padding stream: the file still reads the same
	out, err := cachedEng.Postsign(ctx, req(other), td)
	if err == nil || out != nil || !errors.Is(err, trifirma.ErrInvalidSession) {
		t.Fatalf("a changed document was not refused: %v", err)
	}
	if cachedEng.revs.hits != 2 {
		t.Fatalf("the candidate was not tried (hits %d)", cachedEng.revs.hits)
	}
}

func TestRevisionCacheBounds(t *testing.T) {
	c := newRevCache(4 << 10)
	now := time.Now()
	rv := func(n int) *revision { return &revision{doc: make([]byte, 10), upd: make([]byte, n)} }
	for i := range 10 {
		c.put([32]byte{byte(i)}, rv(900), now)
	}
	if c.size > 4<<10 || len(c.m) != 4 || c.lru.Len() != 4 {
		t.Fatalf("size %d, entries %d/%d", c.size, len(c.m), c.lru.Len())
	}
	if c.get([32]byte{0}, make([]byte, 10), now) != nil {
		t.Fatal("the oldest entry was not evicted")
	}
	if c.get([32]byte{9}, make([]byte, 10), now) == nil {
		t.Fatal("the newest entry is missing")
	}
	if c.get([32]byte{9}, make([]byte, 11), now) != nil {
		t.Fatal("an entry for another document length was returned")
	}
	if c.get([32]byte{9}, make([]byte, 10), now.Add(trifirma.DefaultSessionTTL+time.Second)) != nil {
		t.Fatal("an expired entry was returned")
	}
	if _, ok := c.m[[32]byte{9}]; ok || c.size != 3*900 {
		t.Fatalf("the expired entry was not dropped (size %d)", c.size)
	}
	c.put([32]byte{99}, rv(2<<10), now) // over a quarter of the budget: not kept
	if _, ok := c.m[[32]byte{99}]; ok {
		t.Fatal("an oversized update was kept")
	}
	off := newRevCache(0)
	off.put([32]byte{1}, rv(10), now)
	if off.get([32]byte{1}, make([]byte, 10), now) != nil {
		t.Fatal("a disabled cache returned an entry")
	}
}

// TestRevisionCacheConcurrent presigns and postsigns on one engine from several goroutines
// (run with -race): every result must verify and be the rebuild's.
func TestRevisionCacheConcurrent(t *testing.T) {
	pki := testpki.Get(t)
	ctx := context.Background()
	alg := trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}
	eng, plain := New(Config{RevisionCache: 64 << 10}), New(Config{RevisionCache: -1})
	errs := make(chan error, 8)
	outs := make([][]byte, 8)
	for g := range 8 {
		go func() {
			doc := pdftest.Build(pdftest.Options{Pages: 1 + g%2, Padding: 1000 * g})
			req := &trifirma.Request{Operation: trifirma.OpSign, Document: doc, Chain: pki.RSA.Chain, Algorithm: alg}
			td, err := eng.Presign(ctx, req)
			if err != nil {
				errs <- err
				return
			}
			pre, _ := td.Signs[0].Bytes(trifirma.ParamPRE)
			sig, err := pki.RSA.Key.Sign(nil, alg.Digest(pre), alg.SignerOpts())
			if err != nil {
				errs <- err
				return
			}
			td.Signs[0].Set(trifirma.ParamPK1, trifirma.EncodeStd(sig))
			got, err := eng.Postsign(ctx, req, td)
			if err != nil {
				errs <- err
				return
			}
			want, err := plain.Postsign(ctx, req, td)
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("cached and rebuilt results differ")
			}
			outs[g] = got
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if eng.revs.hits != 8 {
		t.Errorf("%d of 8 postsigns used the kept update", eng.revs.hits)
	}
	validate.PAdES(t, outs[3], validate.Options{Roots: []*x509.Certificate{pki.Root}, Signers: 1})
}
