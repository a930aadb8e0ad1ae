package relay_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/trifirma/trifirma/relay"
)

// Mount StorageService and RetrieveService at the reference paths, as "trifirma serve" does.
func Example() {
	store, err := relay.OpenStore(context.Background(), "memory") // or "dir:/var/lib/trifirma", "redis://..."
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	cfg := relay.Config{} // 60 s expiry, 16 MiB cap, slog.Default()
	mux := http.NewServeMux()
	mux.Handle("/afirma-signature-storage/StorageService", relay.NewStorageService(store, cfg))
	mux.Handle("/afirma-signature-retriever/RetrieveService", relay.NewRetrieveService(store, cfg))

	srv := httptest.NewServer(mux) // a real deployment uses http.ListenAndServe
	defer srv.Close()

	post := func(path, form string) string {
		resp, err := http.Post(srv.URL+path, "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// The app stores its (ciphered) result; the page polls for it.
	fmt.Printf("%q\n", post("/afirma-signature-retriever/RetrieveService", "op=get&v=1_0&id=llUQSzruWssVQxIeFNtV&it=0"))
	fmt.Printf("%q\n", post("/afirma-signature-storage/StorageService",
		"op=put&v=1_0&id=llUQSzruWssVQxIeFNtV&dat="+url.QueryEscape("6.KSCk4xRsiiul5vrlTW0tQw==")))
	fmt.Printf("%q\n", post("/afirma-signature-retriever/RetrieveService", "op=get&v=1_0&id=llUQSzruWssVQxIeFNtV&it=1"))
	fmt.Printf("%q\n", post("/afirma-signature-retriever/RetrieveService", "op=get&v=1_0&id=llUQSzruWssVQxIeFNtV&it=2"))
	// Output:
	// "ERR-06:=El identificador para los datos es inválido\n"
	// "OK"
	// "6.KSCk4xRsiiul5vrlTW0tQw==\n"
	// "ERR-06:=El identificador para los datos es inválido\n"
}
