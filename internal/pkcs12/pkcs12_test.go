package pkcs12

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/testpki"
)

// sharedDir returns $TRIFIRMA_SHARED; it skips the test when unset, or fails it when CI is set.
func sharedDir(t *testing.T) string {
	t.Helper()
	d := os.Getenv("TRIFIRMA_SHARED")
	if d == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("TRIFIRMA_SHARED is not set (required in CI)")
		}
		t.Skip("TRIFIRMA_SHARED not set")
	}
	return d
}

func needOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl not installed (apt-get install openssl)")
		}
		t.Skip("openssl not installed (apt-get install openssl)")
	}
}

// checkKeyAndChain verifies that key signs for chain[0] and that each certificate of chain is
// issued by the next one.
func checkKeyAndChain(t *testing.T, key crypto.Signer, chain []*x509.Certificate) {
	t.Helper()
	if len(chain) == 0 {
		t.Fatal("empty chain")
	}
	if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(chain[0].PublicKey) {
		t.Fatal("key does not match chain[0]")
	}
	for i := 0; i+1 < len(chain); i++ {
		if !bytes.Equal(chain[i].RawIssuer, chain[i+1].RawSubject) {
			t.Errorf("chain[%d] issuer %q != chain[%d] subject %q", i, chain[i].Issuer, i+1, chain[i+1].Subject)
		}
	}
	digest := sha256.Sum256([]byte("trifirma"))
	var opts crypto.SignerOpts = crypto.SHA256
	sig, err := key.Sign(rand.Reader, digest[:], opts)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	switch pub := chain[0].PublicKey.(type) {
	case *rsa.PublicKey:
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			err = errors.New("ECDSA signature does not verify")
		}
	default:
		t.Fatalf("unexpected key type %T", pub)
	}
	if err != nil {
		t.Fatalf("signature with the decoded key: %v", err)
	}
}

// The Cliente @firma test stores (BER, 3DES + RC2-40, SHA-1 MAC, up to 102400 iterations).
func TestRefdataKeystores(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "refdata", "keystores")
	tests := []struct {
		file, password string
		keyType        string
		chainLen       int
		leafCN         string
	}{
		{"ciudadanohw_ecc_2023v1.p12", "ciudadanohw_ecc_2023v1", "ecdsa", 3, "MANUELA BLANCO VIDAL"},
		{"EIDAS_CERTIFICADO_PRUEBAS___99999999R__1234.p12", "1234", "rsa", 3, "EIDAS CERTIFICADO PRUEBAS"},
		{"PFActivoFirSHA256.pfx", "12341234", "rsa", 3, "FISICO ACTIVO PRUEBA"},
		// Its two cert bags hold the same certificate; the issuer is not in the store.
		{"PruebaEmpleado4Activo.p12", "Giss2016", "rsa", 1, "PRUEBA4EMPN"},
		{"00_colegiado-hsm_revoked.p12", "1234", "rsa", 3, "Nombre Apellido1"},
		{"juaneliptico.p12", "12341234", "ecdsa", 1, "Juan Eliptico"},
		{"ANF_PF_Activo.pfx", "12341234", "rsa", 2, "ANF Usuario Activo"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			key, chain, err := Decode(b, tc.password)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkKeyAndChain(t, key, chain)
			if got := keyType(key); got != tc.keyType {
				t.Errorf("key type %s, want %s", got, tc.keyType)
			}
			if len(chain) != tc.chainLen {
				t.Errorf("chain of %d certs, want %d", len(chain), tc.chainLen)
			}
			if !strings.Contains(chain[0].Subject.CommonName, tc.leafCN) {
				t.Errorf("leaf CN %q, want %q", chain[0].Subject.CommonName, tc.leafCN)
			}
			if _, _, err := Decode(b, tc.password+"x"); !errors.Is(err, ErrIncorrectPassword) {
				t.Errorf("wrong password: err = %v, want ErrIncorrectPassword", err)
			}
		})
	}
}

func keyType(k crypto.Signer) string {
	switch k.(type) {
	case *rsa.PrivateKey:
		return "rsa"
	case *ecdsa.PrivateKey:
		return "ecdsa"
	}
	return "other"
}

// exportWithOpenSSL writes id's key and chain to a PKCS#12 file made by openssl pkcs12 -export.
func exportWithOpenSSL(t *testing.T, id *testpki.Identity, password string, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	k8, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, blocks ...*pem.Block) string {
		var buf bytes.Buffer
		for _, b := range blocks {
			_ = pem.Encode(&buf, b)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyFile := write("key.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: k8})
	certFile := write("cert.pem", &pem.Block{Type: "CERTIFICATE", Bytes: id.Cert.Raw})
	var chainBlocks []*pem.Block
	for _, c := range id.Chain[1:] {
		chainBlocks = append(chainBlocks, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	chainFile := write("chain.pem", chainBlocks...)
	out := filepath.Join(dir, "store.p12")
	cmdArgs := append([]string{"pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-certfile", chainFile,
		"-passout", "pass:" + password, "-out", out}, args...)
	cmd := exec.Command("openssl", cmdArgs...)
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(cmdArgs, " "), err, o)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOpenSSLStores(t *testing.T) {
	needOpenSSL(t)
	pki := testpki.Get(t)
	tests := []struct {
		name     string
		id       *testpki.Identity
		password string
		args     []string
	}{
		{"modern-default-rsa", pki.RSA, "secreto", nil},
		{"modern-default-ec", pki.EC, "secreto", nil},
		{"legacy-rsa", pki.RSA, "1234", []string{"-legacy"}},
		{"legacy-ec", pki.EC384, "1234", []string{"-legacy"}},
		{"3des-sha1mac", pki.RSA, "pw", []string{"-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"}},
		{"aes128-sha512mac", pki.EC, "pw", []string{"-keypbe", "AES-128-CBC", "-certpbe", "AES-192-CBC", "-macalg", "sha512"}},
		{"2des-rc2-128", pki.RSA, "pw", []string{"-legacy", "-keypbe", "PBE-SHA1-2DES", "-certpbe", "PBE-SHA1-RC2-128"}},
		{"pbes2-3des", pki.RSA, "pw", []string{"-keypbe", "DES-EDE3-CBC", "-certpbe", "NONE"}},
		{"unencrypted-key-bag", pki.EC, "pw", []string{"-keypbe", "NONE", "-certpbe", "NONE"}},
		{"no-mac", pki.RSA, "pw", []string{"-nomac"}},
		{"no-mac-legacy", pki.RSA, "pw", []string{"-nomac", "-legacy"}},
		{"empty-password", pki.EC, "", nil},
		{"empty-password-legacy", pki.EC, "", []string{"-legacy"}},
		{"non-ascii-password", pki.RSA, "contraseña€ñ😀", nil},
		{"non-ascii-password-legacy", pki.RSA, "contraseña€ñ😀", []string{"-legacy"}},
		{"one-iteration", pki.EC, "pw", []string{"-iter", "1", "-maciter"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der := exportWithOpenSSL(t, tc.id, tc.password, tc.args...)
			for _, form := range []struct {
				name string
				b    []byte
			}{{"as-written", der}, {"ber", berify(t, der)}} {
				key, chain, err := Decode(form.b, tc.password)
				if err != nil {
					t.Fatalf("%s: Decode: %v", form.name, err)
				}
				checkKeyAndChain(t, key, chain)
				if len(chain) != 2 || !chain[0].Equal(tc.id.Cert) || !chain[1].Equal(pki.Root) {
					t.Fatalf("%s: chain %v, want [leaf root]", form.name, subjects(chain))
				}
			}
			if _, _, err := Decode(der, tc.password+"?"); !errors.Is(err, ErrIncorrectPassword) {
				if tc.name != "unencrypted-key-bag" || err != nil {
					t.Errorf("wrong password: err = %v, want ErrIncorrectPassword", err)
				}
			}
		})
	}
}

func subjects(chain []*x509.Certificate) []string {
	var s []string
	for _, c := range chain {
		s = append(s, c.Subject.CommonName)
	}
	return s
}

// berify rewrites the outer layers of a DER PFX the way Java and old Windows write them:
// indefinite lengths everywhere and OCTET STRINGs split into constructed 64-byte segments. It does
// not descend into OCTET STRING contents, so the MAC stays valid.
func berify(t testing.TB, der []byte) []byte {
	t.Helper()
	var out []byte
	var walk func(b []byte)
	walk = func(b []byte) {
		for len(b) > 0 {
			var v asn1.RawValue
			rest, err := asn1.Unmarshal(b, &v)
			if err != nil {
				t.Fatalf("berify: %v", err)
			}
			hdr := v.FullBytes[:len(v.FullBytes)-len(v.Bytes)]
			switch {
			case v.IsCompound:
				out = append(out, hdr[0], 0x80)
				walk(v.Bytes)
				out = append(out, 0, 0)
			case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString && len(v.Bytes) > 64:
				out = append(out, 0x24, 0x80)
				for c := v.Bytes; len(c) > 0; {
					n := min(64, len(c))
					seg, _ := asn1.Marshal(c[:n])
					out = append(out, seg...)
					c = c[n:]
				}
				out = append(out, 0, 0)
			default:
				out = append(out, v.FullBytes...)
			}
			b = rest
		}
	}
	walk(der)
	return out
}

// A PBMAC1 (RFC 9579) MAC computed here with PBKDF2-HMAC-SHA256 over an openssl -nomac store.
func TestPBMAC1(t *testing.T) {
	needOpenSSL(t)
	pki := testpki.Get(t)
	const password = "pbmac1-pass"
	noMAC := exportWithOpenSSL(t, pki.EC, password, "-nomac")
	var pfx struct {
		Version  int
		AuthSafe asn1.RawValue
	}
	if err := unmarshalExact(noMAC, &pfx); err != nil {
		t.Fatal(err)
	}
	var ci contentInfo
	if err := unmarshalExact(pfx.AuthSafe.FullBytes, &ci); err != nil {
		t.Fatal(err)
	}
	var data []byte
	if err := unmarshalExact(ci.Content.Bytes, &data); err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	build := func(macPassword string, iter int) []byte {
		key, err := pbkdf2.Key(sha256.New, macPassword, salt, iter, 32)
		if err != nil {
			t.Fatal(err)
		}
		m := hmac.New(sha256.New, key)
		m.Write(data)
		kdf, _ := asn1.Marshal(struct {
			Salt       []byte
			Iterations int
			KeyLength  int
			PRF        pkix.AlgorithmIdentifier
		}{salt, iter, 32, pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}})
		params, _ := asn1.Marshal(struct {
			KDF pkix.AlgorithmIdentifier
			MAC pkix.AlgorithmIdentifier
		}{pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: asn1.RawValue{FullBytes: kdf}},
			pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}})
		out, err := asn1.Marshal(struct {
			Version  int
			AuthSafe asn1.RawValue
			MacData  macData
		}{3, pfx.AuthSafe, macData{
			Mac:        digestInfo{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidPBMAC1, Parameters: asn1.RawValue{FullBytes: params}}, Digest: m.Sum(nil)},
			MacSalt:    []byte("NOT USED"),
			Iterations: 1,
		}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	key, chain, err := Decode(build(password, 1000), password)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	checkKeyAndChain(t, key, chain)
	if _, _, err := Decode(build("other", 1000), password); !errors.Is(err, ErrIncorrectPassword) {
		t.Errorf("PBMAC1 with another password: err = %v, want ErrIncorrectPassword", err)
	}
	old := maxIterations
	maxIterations = 999
	defer func() { maxIterations = old }()
	if _, _, err := Decode(build(password, 1000), password); !errors.Is(err, ErrMalformed) {
		t.Errorf("PBMAC1 over the iteration limit: err = %v, want ErrMalformed", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	needOpenSSL(t)
	pki := testpki.Get(t)
	legacy := exportWithOpenSSL(t, pki.RSA, "pw", "-legacy")
	flipped := bytes.Clone(legacy)
	flipped[len(flipped)/2] ^= 0x01
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"garbage", []byte("not a PKCS#12 store"), ErrMalformed},
		{"truncated", legacy[:len(legacy)-10], ErrMalformed},
		{"trailing", append(bytes.Clone(legacy), 0), ErrMalformed},
		{"flipped-content", flipped, ErrIncorrectPassword}, // the MAC catches it
		{"too-large", make([]byte, MaxSize+1), ErrMalformed},
		{"certificate-only", exportWithOpenSSL(t, pki.RSA, "pw", "-nokeys"), ErrNoKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, c, err := Decode(tc.in, "pw")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if k != nil || c != nil {
				t.Fatal("returned a key or chain along with an error")
			}
		})
	}
	_, _, err := Decode(exportWithOpenSSL(t, pki.RSA, "pw", "-nokeys"), "pw")
	if !errors.Is(err, trifirma.ErrInvalidCertificate) {
		t.Errorf("ErrNoKey does not match trifirma.ErrInvalidCertificate: %v", err)
	}
}

func TestBuildChain(t *testing.T) {
	mk := func(cn string, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		}
		if parent == nil {
			parent, parentKey = tmpl, k
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, k.Public(), parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, k
	}
	root, rk := mk("root", nil, nil)
	inter, ik := mk("inter", root, rk)
	leaf, _ := mk("leaf", inter, ik)
	unrelated, _ := mk("unrelated", nil, nil)
	got := buildChain(leaf, []*x509.Certificate{unrelated, root, leaf, inter, leaf})
	if s := strings.Join(subjects(got), ","); s != "leaf,inter,root" {
		t.Fatalf("chain %s, want leaf,inter,root", s)
	}
	if s := strings.Join(subjects(buildChain(leaf, []*x509.Certificate{leaf, root})), ","); s != "leaf" {
		t.Fatalf("chain without the intermediate %s, want leaf", s)
	}
}

func ExampleDecode() {
	pfx, err := os.ReadFile("testdata/example.p12")
	if err != nil {
		panic(err)
	}
	key, chain, err := Decode(pfx, "example")
	if err != nil {
		panic(err)
	}
	pub := key.Public().(*ecdsa.PublicKey)
	fmt.Println(chain[0].Subject.CommonName, pub.Curve.Params().Name, len(chain))
	// Output: Trifirma Example Signer P-256 1
}
