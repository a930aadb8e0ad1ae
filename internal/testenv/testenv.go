// Package testenv locates the shared test material (reference data, validation harness) that
// lives outside the repository, through the TRIFIRMA_SHARED environment variable.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run under CI (env CI non-empty), where missing material is a
// failure rather than a reason to skip.
func InCI() bool { return os.Getenv("CI") != "" }

// Shared returns the shared directory (TRIFIRMA_SHARED). Without it the test is skipped, or
// fails under CI.
func Shared(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("TRIFIRMA_SHARED")
	if dir == "" {
		Missing(tb, "TRIFIRMA_SHARED is not set (it names the shared directory with refdata/ and harness/)")
	}
	if _, err := os.Stat(dir); err != nil {
		tb.Fatalf("TRIFIRMA_SHARED=%s: %v", dir, err)
	}
	return dir
}

// Refdata returns $TRIFIRMA_SHARED/refdata/sub.
func Refdata(tb testing.TB, sub string) string {
	tb.Helper()
	dir := filepath.Join(Shared(tb), "refdata", sub)
	if _, err := os.Stat(dir); err != nil {
		tb.Fatalf("reference data %s: %v", dir, err)
	}
	return dir
}

// Missing skips the test with reason, or fails it under CI.
func Missing(tb testing.TB, reason string) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("required test material missing under CI: %s", reason)
	}
	tb.Skip(reason)
}
