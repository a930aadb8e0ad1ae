package invocation_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/invocation"
	"github.com/trifirma/trifirma/relay"
)

// Write the invocation URL of a CAdES signature with the parameters of the specification's
// example.
func ExampleRequest_URL() {
	u, err := invocation.Request{
		Op:         invocation.OpSign,
		Format:     "CAdES",
		Algorithm:  "SHA512withRSA",
		Properties: trifirma.Params{"mode": "implicit"},
	}.URL(invocation.Common{
		ProtocolVersion: "3",
		ID:              "yy1oMJsxoHSoMzLdJywW",
		Key:             "71313199",
		StorageURL:      "http://appprueba:8080/afirma-signature-storage/StorageService",
		ActiveWaiting:   true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u)
	// Output:
	// afirma://sign?ver=3&op=sign&id=yy1oMJsxoHSoMzLdJywW&key=71313199&stservlet=http%3A%2F%2Fappprueba%3A8080%2Fafirma-signature-storage%2FStorageService&format=CAdES&algorithm=SHA512withRSA&properties=bW9kZT1pbXBsaWNpdAo%3D&aw=true
}

// Prepare an invocation through the intermediate server and read the app's result.
func ExampleClient() {
	// An intermediate server (normally "trifirma serve").
	store := relay.NewMemoryStore(relay.MemoryOptions{})
	defer store.Close()
	cfg := relay.Config{Logger: slog.New(slog.DiscardHandler)}
	mux := http.NewServeMux()
	mux.Handle("/afirma-signature-storage/StorageService", relay.NewStorageService(store, cfg))
	mux.Handle("/afirma-signature-retriever/RetrieveService", relay.NewRetrieveService(store, cfg))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	c := &invocation.Client{
		StorageURL:  srv.URL + "/afirma-signature-storage/StorageService",
		RetrieveURL: srv.URL + "/afirma-signature-retriever/RetrieveService",
	}
	inv, err := c.Prepare(context.Background(), invocation.Request{Op: invocation.OpSelectCert})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(inv.String(), "afirma://selectcert?ver=3&op=selectcert&id="))

	// Here the page opens inv.String() (or shows it as a QR code). The app answers by storing
	// the ciphered certificate under inv.ID; simulated:
	_ = c.Put(context.Background(), inv.ID, inv.Cipher.Encrypt([]byte("certificate DER")))

	res, err := c.Wait(context.Background(), inv)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", res.Certificate)
	// Output:
	// true
	// certificate DER
}
