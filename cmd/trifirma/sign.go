package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/client"
	"github.com/trifirma/trifirma/internal/pkcs12"
)

type paramFlags trifirma.Params

func (p paramFlags) String() string { return "" }
func (p paramFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	p[k] = val
	return nil
}

func sign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080"+signerPrefix+"/SignatureService", "SignatureService `URL`")
	in := fs.String("in", "", "`file` to sign (the existing signature for cosign/countersign)")
	out := fs.String("out", "", "output `file` (default: the input name with a format extension)")
	format := fs.String("format", "CAdES", "signature `format` as sent on the wire: CAdES, XAdES, pades, NONE")
	op := fs.String("op", "sign", "`operation`: sign, cosign or countersign")
	algo := fs.String("algo", "SHA256withRSA", "`algorithm` as the client sends it (the key type comes from the certificate)")
	p12 := fs.String("p12", "", "PKCS#12 `file` with the signing key and chain (default: a demo key created on first use)")
	password := fs.String("password", os.Getenv("TRIFIRMA_P12_PASSWORD"), "PKCS#12 `password` (env TRIFIRMA_P12_PASSWORD)")
	demoDir := fs.String("demo-dir", "", "`directory` for the demo key (default: the user config directory)")
	paramsFile := fs.String("params-file", "", "Java .properties `file` with extra parameters")
	params := trifirma.Params{}
	fs.Var(paramFlags(params), "param", "extra parameter `key=value` (repeatable)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *in == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "sign: -in FILE is required")
		fs.Usage()
		return errUsage
	}
	cop, err := trifirma.ParseOperation(*op)
	if err != nil {
		return err
	}
	if *paramsFile != "" {
		text, err := os.ReadFile(*paramsFile)
		if err != nil {
			return err
		}
		fp, err := trifirma.ParseParams(string(text))
		if err != nil {
			return err
		}
		for k, v := range fp {
			if _, set := params[k]; !set {
				params[k] = v
			}
		}
	}
	doc, err := os.ReadFile(*in)
	if err != nil {
		return err
	}
	var key crypto.Signer
	var chain []*x509.Certificate
	if *p12 != "" {
		raw, err := os.ReadFile(*p12)
		if err != nil {
			return err
		}
		if key, chain, err = pkcs12.Decode(raw, *password); err != nil {
			return fmt.Errorf("%s: %w", *p12, err)
		}
	} else {
		dir := *demoDir
		if dir == "" {
			base, err := os.UserConfigDir()
			if err != nil {
				return fmt.Errorf("no -p12 and no user config directory for a demo key: %w", err)
			}
			dir = filepath.Join(base, "trifirma")
		}
		if key, chain, err = demoIdentity(dir, stderr); err != nil {
			return err
		}
	}
	c := &client.Client{URL: *url}
	sig, err := c.Sign(ctx, client.Request{Format: *format, Operation: cop, Algorithm: *algo, Params: params, Document: doc}, key, chain)
	if err != nil {
		return err
	}
	dst := *out
	if dst == "" {
		dst = defaultOutput(*in, *format)
	}
	if err := os.WriteFile(dst, sig, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signed %s as %s (%s) -> %s (%d bytes), signer %q\n", *in, *format, cop, dst, len(sig), chain[0].Subject.CommonName)
	return nil
}

func defaultOutput(in, format string) string {
	switch strings.ToLower(format) {
	case "cades", "cadestri":
		return in + ".csig"
	case "xades", "xadestri", "facturae":
		return in + ".xsig"
	case "pades", "padestri":
		return strings.TrimSuffix(in, filepath.Ext(in)) + ".signed.pdf"
	}
	return in + ".sig"
}

// demoIdentity loads, or creates on first use, a self-signed RSA demo key and certificate in
// dir (0600 key file). It is for trying a deployment, not for real signatures.
func demoIdentity(dir string, stderr io.Writer) (crypto.Signer, []*x509.Certificate, error) {
	keyPath, certPath := filepath.Join(dir, "demo-key.pem"), filepath.Join(dir, "demo-cert.pem")
	keyPEM, kerr := os.ReadFile(keyPath)
	certPEM, cerr := os.ReadFile(certPath)
	if errors.Is(kerr, fs.ErrNotExist) && errors.Is(cerr, fs.ErrNotExist) {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, err
		}
		now := time.Now().UTC()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(now.UnixNano()),
			Subject:      pkix.Name{Country: []string{"ES"}, Organization: []string{"trifirma demo"}, CommonName: "trifirma demo signer"},
			NotBefore:    now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			return nil, nil, err
		}
		kder, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, err
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
		certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stderr, "created demo key and certificate in %s (not for real signatures)\n", dir)
	} else if kerr != nil || cerr != nil {
		return nil, nil, fmt.Errorf("demo identity in %s is incomplete: %v %v", dir, kerr, cerr)
	}
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(certPEM)
	if kb == nil || cb == nil {
		return nil, nil, fmt.Errorf("demo identity in %s is not PEM", dir)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("demo key is not a signer")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return signer, []*x509.Certificate{cert}, nil
}
