package server_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"strings"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/formats"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
	"github.com/trifirma/trifirma/server"
)

// TestCAdESThroughHTTP signs, cosigns and countersigns through the SignatureService exactly as
// the Java clients do, and has every result checked by validators we did not write.
func TestCAdESThroughHTTP(t *testing.T) {
	pki := testpki.Get(t)
	_, c := newServer(t, server.Config{Engines: formats.Default(formats.Config{})})
	ctx := context.Background()
	doc := []byte("Hola Mundo, documento de prueba para trifirma\n")
	roots := validate.Options{Roots: []*x509Cert{pki.Root}}
	for _, mode := range []string{"implicit", "explicit"} {
		for name, id := range map[string]*testpki.Identity{"RSA": pki.RSA, "ECDSA": pki.EC} {
			t.Run(mode+"/"+name, func(t *testing.T) {
				o := roots
				if mode == "explicit" {
					o.Detached = doc
				}
				params := trifirma.Params{"mode": mode}
				sig, err := c.Sign(ctx, client.Request{Format: "CAdES", Algorithm: "SHA256withRSA", Params: params, Document: doc}, id.Key, id.Chain)
				if err != nil {
					t.Fatal(err)
				}
				o.Signers = 1
				validate.CAdES(t, sig, o)

				// A detached co-signature reuses the message digest of an existing signer with the
				// same digest algorithm (the data is not sent), so it must use SHA-256 too.
				coAlgo := "SHA512withRSA"
				if mode == "explicit" {
					coAlgo = "SHA256withRSA"
				}
				co, err := c.Sign(ctx, client.Request{Format: "CAdES", Operation: trifirma.OpCoSign, Algorithm: coAlgo, Params: params, Document: sig}, pki.RSA2.Key, pki.RSA2.Chain)
				if err != nil {
					t.Fatal("cosign:", err)
				}
				o.Signers = 2
				validate.CAdES(t, co, o)

				cs, err := c.Sign(ctx, client.Request{Format: "CAdES", Operation: trifirma.OpCounterSign, Algorithm: "SHA256withECDSA", Params: trifirma.Params{"target": "tree"}, Document: co}, pki.EC.Key, pki.EC.Chain)
				if err != nil {
					t.Fatal("countersign:", err)
				}
				o.Signers = 4
				validate.CAdES(t, cs, o)
			})
		}
	}
}

type x509Cert = x509.Certificate

// TestCAdESEPESThroughHTTP uses the AGE policy preset the way AutoFirma sends it.
func TestCAdESEPESThroughHTTP(t *testing.T) {
	pki := testpki.Get(t)
	_, c := newServer(t, server.Config{Engines: formats.Default(formats.Config{})})
	doc := []byte("documento EPES")
	sig, err := c.Sign(context.Background(), client.Request{Format: "CAdES", Algorithm: "SHA512withRSA",
		Params: trifirma.Params{"expPolicy": "FirmaAGE", "mode": "implicit"}, Document: doc}, pki.RSA.Key, pki.RSA.Chain)
	if err != nil {
		t.Fatal(err)
	}
	validate.CAdES(t, sig, validate.Options{Roots: []*x509Cert{pki.Root}, Signers: 1})
}

// TestCAdESVerificationCode exercises the reference's optional HMAC (verification.key) with a
// format whose PRE travels back.
func TestCAdESVerificationCode(t *testing.T) {
	pki := testpki.Get(t)
	_, c := newServer(t, server.Config{Engines: formats.Default(formats.Config{}), VerificationKey: "secret"})
	ctx := context.Background()
	r := client.Request{Format: "CAdES", Algorithm: "SHA256", Document: []byte("doc"), Params: trifirma.Params{"mode": "implicit"}}
	td, err := c.Presign(ctx, r, pki.RSA.Chain)
	if err != nil {
		t.Fatal(err)
	}
	pre, _ := td.Signs[0].Get(trifirma.ParamPRE)
	if got, _ := td.Signs[0].Get(trifirma.ParamHMAC); got != trifirma.ReferenceHMAC("secret", pre, pki.RSA.Cert.Raw) {
		t.Fatalf("HMAC = %q", got)
	}
	if err := client.SignSession(td, pki.RSA.Key, r.Algorithm); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Postsign(ctx, r, pki.RSA.Chain, td); err != nil {
		t.Fatal(err)
	}
}

// TestCAdESBadInputs: malformed cosign input, wrong PK1 and a session replayed for another
// document never yield a signature.
func TestCAdESBadInputs(t *testing.T) {
	pki := testpki.Get(t)
	_, c := newServer(t, server.Config{Engines: formats.Default(formats.Config{})})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		op   trifirma.Operation
		doc  []byte
		want string
	}{
		{"cosign non-CMS", trifirma.OpCoSign, []byte("not a CMS"), "ERR-9:"},
		{"countersign truncated", trifirma.OpCounterSign, []byte{0x30, 0x82, 0x10, 0x00, 0x06}, "ERR-9:"},
		{"cosign empty", trifirma.OpCoSign, []byte{}, "ERR-9:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Sign(ctx, client.Request{Format: "CAdES", Operation: tc.op, Document: tc.doc}, pki.RSA.Key, pki.RSA.Chain)
			var se *client.ServerError
			if !errors.As(err, &se) || !strings.HasPrefix(se.Body, tc.want) {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
	// Implicit: the session is bound to its document through the message digest.
	r := client.Request{Format: "CAdES", Algorithm: "SHA256", Document: []byte("original"), Params: trifirma.Params{"mode": "implicit"}}
	td, err := c.Presign(ctx, r, pki.RSA.Chain)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SignSession(td, pki.RSA.Key, r.Algorithm); err != nil {
		t.Fatal(err)
	}
	r.Document = []byte("substituted")
	_, err = c.Postsign(ctx, r, pki.RSA.Chain, td)
	var se *client.ServerError
	if !errors.As(err, &se) || (se.Code != "ERR-12" && se.Code != "ERR-17") {
		t.Fatalf("substituted document: %v", err)
	}

}

// TestRecycledBodies runs concurrent round trips of distinct documents, implicit (the
// signature embeds the document, which the server decoded inside its recycled request
// buffer), and checks that every signature carries its own document and verifies.
func TestRecycledBodies(t *testing.T) {
	pki := testpki.Get(t)
	_, c := newServer(t, server.Config{Engines: formats.Default(formats.Config{})})
	ctx := context.Background()
	const workers, each = 4, 15
	errs := make(chan error, workers)
	sigs := make([][]byte, workers)
	docs := make([][]byte, workers)
	for w := range workers {
		go func() {
			for i := range each {
				doc := []byte(strings.Repeat(fmt.Sprintf("worker %d document %d\n", w, i), 300+50*w+i))
				sig, err := c.Sign(ctx, client.Request{Format: "CAdES", Algorithm: "SHA256withECDSA",
					Params: trifirma.Params{"mode": "implicit"}, Document: doc}, pki.EC.Key, pki.EC.Chain)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Contains(sig, doc) {
					errs <- fmt.Errorf("worker %d, document %d: the signature does not carry its document", w, i)
					return
				}
				sigs[w], docs[w] = sig, doc
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for w := range workers {
		validate.CAdES(t, sigs[w], validate.Options{Roots: []*x509Cert{pki.Root}, Signers: 1})
	}
}
