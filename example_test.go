package trifirma_test

import (
	"context"
	"crypto"
	"fmt"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/none"
	"github.com/trifirma/trifirma/internal/testpki"
)

// ExampleSign runs the three phases in process with a key behind crypto.Signer (here an
// in-memory test key; an HSM or a cloud KMS signer works the same way).
func ExampleSign() {
	id := testpki.MustGet().RSA
	sig, err := trifirma.Sign(context.Background(), []byte("Hola Mundo"), id.Key, id.Chain, trifirma.SignOptions{
		Engine: none.New(),
		Format: trifirma.FormatNONE,
		Hash:   crypto.SHA256,
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("PKCS#1 signature bytes:", len(sig))
	// Output: PKCS#1 signature bytes: 256
}

// ExampleSealer shows a session sealed in presign and opened in postsign.
func ExampleSealer() {
	sealer := trifirma.GenerateSealer()
	id := testpki.MustGet().RSA
	c := trifirma.SealContext{Format: trifirma.FormatCAdES, Operation: trifirma.OpSign,
		Algorithm: trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}, Signer: id.Cert}
	sd := &trifirma.SignData{ID: "sig-1"}
	sd.Set(trifirma.ParamPRE, "MYIBAA==")
	sd.Set(trifirma.ParamNeedPRE, "true")
	td := &trifirma.TriphaseData{Signs: []*trifirma.SignData{sd}}
	_ = sealer.Seal(td, c)
	sd.Set(trifirma.ParamPRE, "AAAA") // tampered by the client
	fmt.Println(sealer.Open(td, c))
	// Output: trifirma: session was modified or belongs to another request: seal does not match
}
