package trifirma

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"
)

// Request is what both phases give an [Engine].
//
// Document is the data to sign for [OpSign], and the existing signature for [OpCoSign] and
// [OpCounterSign] (a CMS for CAdES, an XML signature for XAdES, a signed PDF for PAdES). Engines
// must not retain or modify Document after returning.
type Request struct {
	Operation Operation
	// Format is the format as requested (an engine may serve several, e.g. CAdES and
	// CAdES-ASiC-S).
	Format    Format
	Document  []byte
	Chain     []*x509.Certificate // signer certificate first
	Algorithm SignatureAlgorithm
	Params    Params
	// Time is the signing time for presign (zero means time.Now()). Engines record whatever
	// postsign needs to rebuild the same bytes (e.g. a signing-time attribute) in the session.
	Time time.Time
}

// Signer returns the signer certificate (the first of the chain), or an error wrapping
// [ErrInvalidCertificate].
func (r *Request) Signer() (*x509.Certificate, error) {
	if len(r.Chain) == 0 || r.Chain[0] == nil {
		return nil, fmt.Errorf("%w: no signer certificate", ErrInvalidCertificate)
	}
	return r.Chain[0], nil
}

// SigningTime returns r.Time, or now when it is zero, truncated to the second (signing-time
// attributes carry seconds).
func (r *Request) SigningTime() time.Time {
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Truncate(time.Second)
}

// Engine is one signature format. Presign computes, for every signature the device must make,
// the exact bytes to sign (the PRE parameter of a [SignData], with NEED_PRE=true) plus whatever
// else postsign needs; Postsign takes the same request and the session with each PK1 added and
// returns the final signature.
//
// Postsign must verify every PK1 against the signer certificate and the exact bytes it signs
// (normally PRE; [VerifySignature]) before assembling anything, must make sure the signature it
// assembles is consistent with PRE (e.g. that the document it embeds has the digest PRE commits
// to), and must never return a signature that would not verify. Callers that receive the
// session from a client (the postsign package) check its seal first, so PRE and every other
// value the engine put in the session can be trusted.
//
// Engines treat req.Document as read-only and do not keep it after returning (a
// [StreamingPostsigner]'s result may refer to it while the caller uses that result). Engines
// are safe for concurrent use.
type Engine interface {
	Presign(ctx context.Context, req *Request) (*TriphaseData, error)
	Postsign(ctx context.Context, req *Request, session *TriphaseData) ([]byte, error)
}

// Signature is a signed document that is written out rather than held in one buffer: a
// PAdES result, for instance, is the caller's document followed by the incremental update that
// carries the signature, and copying a large PDF only to send or store it would double the
// memory a request needs.
type Signature interface {
	io.WriterTo
	// Size is the number of bytes WriteTo writes.
	Size() int64
}

// BytesSignature is a [Signature] held in one buffer.
type BytesSignature []byte

// WriteTo writes the signature to w.
func (b BytesSignature) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b)
	return int64(n), err
}

// Size is len(b).
func (b BytesSignature) Size() int64 { return int64(len(b)) }

// SignatureBytes returns s in one buffer: s itself when it is a [BytesSignature], a new copy
// otherwise.
func SignatureBytes(s Signature) ([]byte, error) {
	if b, ok := s.(BytesSignature); ok {
		return b, nil
	}
	n := s.Size()
	if n < 0 || n > int64(maxInt) {
		return nil, fmt.Errorf("trifirma: signature of %d bytes does not fit in memory", n)
	}
	w := &fixedWriter{b: make([]byte, 0, n)}
	if _, err := s.WriteTo(w); err != nil {
		return nil, err
	}
	if int64(len(w.b)) != n {
		return nil, fmt.Errorf("trifirma: signature wrote %d bytes, announced %d", len(w.b), n)
	}
	return w.b, nil
}

const maxInt = int(^uint(0) >> 1)

// fixedWriter appends to a buffer that must not grow beyond its capacity.
type fixedWriter struct{ b []byte }

func (w *fixedWriter) Write(p []byte) (int, error) {
	if len(p) > cap(w.b)-len(w.b) {
		return 0, errors.New("trifirma: signature longer than its announced size")
	}
	w.b = append(w.b, p...)
	return len(p), nil
}

// StreamingPostsigner is implemented by engines that can return their postsign result without
// copying the document ([formats/pades]). It has the same contract as [Engine.Postsign]; the
// result may refer to req.Document, which must then stay unchanged while it is used. The
// postsign package, the server and the batch signer use it when an engine has it.
type StreamingPostsigner interface {
	PostsignStream(ctx context.Context, req *Request, session *TriphaseData) (Signature, error)
}

// PostsignStream runs e's postsign, through [StreamingPostsigner] when e implements it.
func PostsignStream(ctx context.Context, e Engine, req *Request, session *TriphaseData) (Signature, error) {
	if s, ok := e.(StreamingPostsigner); ok {
		return s.PostsignStream(ctx, req, session)
	}
	b, err := e.Postsign(ctx, req, session)
	if err != nil {
		return nil, err
	}
	return BytesSignature(b), nil
}

// Registry maps formats to engines.
type Registry map[Format]Engine

// Engine returns the engine for f, or an error wrapping [ErrUnsupportedFormat].
func (r Registry) Engine(f Format) (Engine, error) {
	if e, ok := r[f]; ok && e != nil {
		return e, nil
	}
	return nil, fmt.Errorf("%w: no engine for %s", ErrUnsupportedFormat, f)
}

// NewUUID returns a random (version 4) UUID in its canonical text form, the shape of the
// reference's default SignatureId.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("trifirma: crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
