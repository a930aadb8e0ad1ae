package trifirma

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"time"
)

// SignOptions configure [Sign].
type SignOptions struct {
	// Engine is the format's engine (e.g. cades.New()). Required.
	Engine Engine
	// Format is passed to the engine; empty means the engine's primary format is implied and
	// the request carries FormatCAdES/XAdES/PAdES as set here.
	Format Format
	// Operation defaults to OpSign.
	Operation Operation
	// Hash is the digest; zero means SHA-512 (the reference's default). The key half of the
	// algorithm comes from the signer's public key.
	Hash crypto.Hash
	// Params are the extra parameters (mode, policy, ...).
	Params Params
	// Time is the signing time; zero means now.
	Time time.Time
	// Rand is passed to signer.Sign; nil means crypto/rand.
	Rand io.Reader
}

// Sign runs presign, the device signature and postsign in process: doc (or the existing
// signature, for cosign/countersign) is presigned by opts.Engine, every PRE is signed with
// signer (an HSM, a cloud KMS or an in-memory key behind [crypto.Signer]), and the engine
// verifies each value against chain[0] and assembles the final signature.
//
// chain[0] must be the certificate of signer's key.
func Sign(ctx context.Context, doc []byte, signer crypto.Signer, chain []*x509.Certificate, opts SignOptions) ([]byte, error) {
	if opts.Engine == nil {
		return nil, fmt.Errorf("%w: SignOptions.Engine is nil", ErrUnsupportedFormat)
	}
	if signer == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrInvalidCertificate)
	}
	if len(chain) == 0 || chain[0] == nil {
		return nil, fmt.Errorf("%w: empty certificate chain", ErrInvalidCertificate)
	}
	if err := CheckKeyMatchesCertificate(signer.Public(), chain[0]); err != nil {
		return nil, err
	}
	hname := ""
	if opts.Hash != 0 {
		hname = DigestName(opts.Hash)
	}
	alg, err := ComposeAlgorithm(hname, signer.Public())
	if err != nil {
		return nil, err
	}
	op := opts.Operation
	if op == "" {
		op = OpSign
	}
	t := opts.Time
	if t.IsZero() {
		t = time.Now()
	}
	req := &Request{Operation: op, Format: opts.Format, Document: doc, Chain: chain, Algorithm: alg, Params: opts.Params.Clone(), Time: t}
	td, err := opts.Engine.Presign(ctx, req)
	if err != nil {
		return nil, err
	}
	rnd := opts.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	for _, sd := range td.Signs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pre, err := sd.Bytes(ParamPRE)
		if err != nil {
			return nil, err
		}
		sig, err := signer.Sign(rnd, alg.Digest(pre), alg.SignerOpts())
		if err != nil {
			return nil, fmt.Errorf("trifirma: signer failed: %w", err)
		}
		sd.Set(ParamPK1, EncodeStd(sig))
	}
	return opts.Engine.Postsign(ctx, req, td)
}

// CheckKeyMatchesCertificate reports (wrapping [ErrInvalidCertificate]) whether pub is not the
// public key of cert.
func CheckKeyMatchesCertificate(pub crypto.PublicKey, cert *x509.Certificate) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := pub.(equaler)
	if !ok {
		return fmt.Errorf("%w: unsupported public key type %T", ErrInvalidCertificate, pub)
	}
	if !e.Equal(cert.PublicKey) {
		return fmt.Errorf("%w: the first certificate of the chain does not match the signing key", ErrInvalidCertificate)
	}
	return nil
}

// ParseChain parses DER certificates, signer first. Errors wrap [ErrInvalidCertificate].
func ParseChain(ders [][]byte) ([]*x509.Certificate, error) {
	if len(ders) == 0 {
		return nil, fmt.Errorf("%w: no certificate", ErrInvalidCertificate)
	}
	out := make([]*x509.Certificate, 0, len(ders))
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d is not X.509: %v", ErrInvalidCertificate, i, err)
		}
		out = append(out, c)
	}
	return out, nil
}
