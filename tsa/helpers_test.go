package tsa_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/trifirma/trifirma/tsa"
)

// opensslTSVerify checks a token with `openssl ts -verify`, a validator we did not write.
func opensslTSVerify(t *testing.T, token, data, rootPEM string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	out, err := exec.Command("openssl", "ts", "-verify", "-token_in", "-in", token, "-data", data, "-CAfile", rootPEM).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
}

// FuzzParseResponse feeds arbitrary bytes to the response and token parsers.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x02})
	f.Add([]byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if tok, err := tsa.ParseResponse(b); err == nil {
			_, _ = tsa.ParseToken(tok, true)
		}
		_, _ = tsa.ParseToken(b, false)
	})
}
