package postsign_test

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/pades"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/postsign"
	"github.com/trifirma/trifirma/presign"
)

// ExamplePostsigner_PostsignStream runs both server phases of a PAdES signature and writes
// the signed PDF to a file without ever holding it in one buffer: the result is the caller's
// document followed by the incremental update that carries the signature.
func ExamplePostsigner_PostsignStream() {
	pki := testpki.MustGet()
	engines := trifirma.Registry{trifirma.FormatPAdES: pades.New(pades.Config{})}
	sealer := trifirma.GenerateSealer()
	pre := &presign.Presigner{Engines: engines, Sealer: sealer}
	post := &postsign.Postsigner{Engines: engines, Sealer: sealer}
	ctx := context.Background()

	doc := pdftest.Build(pdftest.Options{Padding: 4 << 20}) // a 4 MB PDF
	alg := trifirma.SignatureAlgorithm{Hash: crypto.SHA256, Key: trifirma.KeyRSA}
	req := &trifirma.Request{Operation: trifirma.OpSign, Format: trifirma.FormatPAdES, Document: doc,
		Chain: pki.RSA.Chain, Algorithm: alg}
	td, err := pre.Presign(ctx, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := td.Signs[0].Bytes(trifirma.ParamPRE)
	sig, _ := pki.RSA.Key.Sign(nil, alg.Digest(p), alg.SignerOpts()) // on the device
	td.Signs[0].Set(trifirma.ParamPK1, trifirma.EncodeStd(sig))

	signed, err := post.PostsignStream(ctx, req, td)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	f, _ := os.Create(filepath.Join(dir, "signed.pdf"))
	n, err := signed.WriteTo(f)
	f.Close()
	fmt.Println(err == nil, n == signed.Size(), n > int64(len(doc)))

	// The file is the document followed by the update.
	f, _ = os.Open(filepath.Join(dir, "signed.pdf"))
	defer f.Close()
	head := make([]byte, len(doc))
	_, _ = io.ReadFull(f, head)
	fmt.Println(string(head) == string(doc))
	// Output:
	// true true true
	// true
}
