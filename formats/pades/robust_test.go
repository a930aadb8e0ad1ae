package pades_test

import (
	"crypto"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/pdf/pdftest"
	"github.com/trifirma/trifirma/internal/testpki"
)

// TestHostileDocuments: structures built to exhaust a reader are refused quickly with
// ErrInvalidDocument (internal/pdf's TestPathological covers the reader in depth).
func TestHostileDocuments(t *testing.T) {
	pki := testpki.Get(t)
	page := "<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>"
	for _, c := range []struct {
		name string
		objs []string
	}{
		{"nested arrays", []string{"<</Type/Catalog/Pages 2 0 R/X " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + ">>", "<</Type/Pages/Kids[3 0 R]/Count 1>>", page}},
		{"page tree cycle", []string{"<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[2 0 R]/Count 1>>", page}},
		{"no pages", []string{"<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[]/Count 0>>", page}},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := sign(t, pdftest.Raw(c.objs, ""), pki.RSA, crypto.SHA256, nil)
			if !errors.Is(err, trifirma.ErrInvalidDocument) {
				t.Fatalf("error %v, want ErrInvalidDocument", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %v", d)
			}
		})
	}
}
