package batch_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/batch"
	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/postsign"
	"github.com/trifirma/trifirma/presign"
)

// Example signs three resolutions with one "PIN entry": one presign for the whole batch, one
// pass of the device over every PRE, one postsign. Here nothing is configured to save the
// signatures, so they come back in the results.
func Example() {
	pki := testpki.MustGet() // the signer: a key and its certificate chain
	engines := trifirma.Registry{trifirma.FormatCAdES: cades.New(cades.Config{})}
	sealer := trifirma.GenerateSealer()
	s, err := batch.New(batch.Config{
		Presigner:  &presign.Presigner{Engines: engines, Sealer: sealer},
		Postsigner: &postsign.Postsigner{Engines: engines, Sealer: sealer},
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	b := &batch.Batch{Algorithm: "SHA256", Format: trifirma.FormatCAdES}
	for i := 1; i <= 3; i++ {
		doc := fmt.Sprintf("Resolución %d: se concede lo solicitado.", i)
		b.Items = append(b.Items, &batch.Item{
			ID:     fmt.Sprintf("res-%d", i),
			Source: batch.Source{Kind: batch.SourceBase64, Value: b64.EncodeStd([]byte(doc))},
		})
	}
	ctx := context.Background()

	// 1. The server presigns every document.
	pre, err := s.Presign(ctx, b, pki.RSA.Chain)
	if err != nil {
		panic(err)
	}
	// 2. The device signs every PRE of the session in one go.
	session := pre.Session()
	if err := client.SignSession(session, pki.RSA.Key, b.Algorithm); err != nil {
		panic(err)
	}
	// 3. The server verifies every value and assembles every signature.
	results, err := s.PostsignWith(ctx, b, pki.RSA.Chain, session, batch.PostsignOptions{NoManager: true})
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		fmt.Println(r.ID, r.Code, len(r.Signature) > 0)
	}
	// Output:
	// res-1 DONE_BUT_NOT_SAVED_YET true
	// res-2 DONE_BUT_NOT_SAVED_YET true
	// res-3 DONE_BUT_NOT_SAVED_YET true
}

// ExampleParseJSON decodes the batch definition a client sends to /presign.
func ExampleParseJSON() {
	b, err := batch.ParseJSON([]byte(`{
		"algorithm": "SHA256", "format": "CAdES", "suboperation": "sign", "stoponerror": true,
		"singlesigns": [
			{"id": "res-1", "datareference": "SG9sYSBNdW5kbw=="},
			{"id": "res-2", "datareference": "QWRpw7NzIE11bmRv", "format": "XAdES"},
			{"id": "res-3", "result": "ERROR_PRE", "description": "Error en la prefirma"}
		]}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(b.Algorithm, b.Format, b.StopOnError)
	for _, it := range b.Items {
		fmt.Printf("%s format=%q result=%q\n", it.ID, it.Format, it.Result)
	}
	// Output:
	// SHA256 CAdES true
	// res-1 format="" result=""
	// res-2 format="XAdES" result=""
	// res-3 format="" result="ERROR_PRE"
}

// ExampleAppendXMLResults shows the XML postsign reply of the seed specification.
func ExampleAppendXMLResults() {
	out := batch.AppendXMLResults(nil, []batch.Result{
		{ID: "001-XAdES", Code: batch.DoneAndSaved},
		{ID: "002-CAdES", Code: batch.ErrorPost, Description: "firma 0: signature value does not verify"},
	})
	fmt.Println(string(out))
	// Output:
	// <?xml version="1.0" encoding="UTF-8" ?>
	// <signs>
	//  <signresult id="001-XAdES" result="DONE_AND_SAVED" description=""/>
	//  <signresult id="002-CAdES" result="ERROR_POST" description="firma 0: signature value does not verify"/>
	// </signs>
}
