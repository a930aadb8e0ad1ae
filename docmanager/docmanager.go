// Package docmanager resolves the documents a signature request refers to and stores the
// signatures it produces. [Inline] is the reference's default (SelfishDocumentManager): the
// document travels in the request and the signature is returned in the response. [FileSystem]
// reads and writes files confined to two directories.
package docmanager

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/b64"
)

// Manager resolves document references and stores signatures. Implementations must be safe for
// concurrent use. Errors should wrap [trifirma.ErrDocumentNotFound] or [trifirma.ErrTooLarge]
// where they apply; their text reaches the client.
type Manager interface {
	// GetDocument returns the document that ref designates.
	GetDocument(ctx context.Context, ref string, chain []*x509.Certificate, params trifirma.Params) ([]byte, error)
	// StoreDocument stores signature and returns the identifier sent back to the client after
	// "OK NEWID=". params carries "format" (the request's format) when the caller knows it.
	StoreDocument(ctx context.Context, ref string, chain []*x509.Certificate, signature []byte, params trifirma.Params) (string, error)
}

// NewIDWriter is an optional capability of a Manager: it writes the new identifier straight to
// w instead of returning it, so a large inline signature is Base64-encoded while it is sent,
// without a second copy in memory.
type NewIDWriter interface {
	WriteNewID(ctx context.Context, w io.Writer, ref string, chain []*x509.Certificate, signature trifirma.Signature, params trifirma.Params) error
}

// SignatureStorer is an optional capability of a Manager: StoreDocument for a signature that
// is written out rather than held in one buffer (a PAdES result is the document followed by
// its incremental update), so that storing it does not copy the document. Callers use it
// when present and StoreDocument otherwise; both must store the same bytes. The signature
// may refer to the request's buffers: it must not be kept after StoreSignature returns.
type SignatureStorer interface {
	StoreSignature(ctx context.Context, ref string, chain []*x509.Certificate, signature trifirma.Signature, params trifirma.Params) (string, error)
}

// StoreSignature stores signature with m: through [SignatureStorer] when m has it, otherwise
// with StoreDocument over the signature's bytes.
func StoreSignature(ctx context.Context, m Manager, ref string, chain []*x509.Certificate, signature trifirma.Signature, params trifirma.Params) (string, error) {
	if s, ok := m.(SignatureStorer); ok {
		return s.StoreSignature(ctx, ref, chain, signature, params)
	}
	b, err := trifirma.SignatureBytes(signature)
	if err != nil {
		return "", err
	}
	return m.StoreDocument(ctx, ref, chain, b, params)
}

// InPlaceDecoder is an optional capability of a Manager whose reference is the document itself
// (Base64): the server hands it the request buffer holding the reference and it decodes the
// document over it, so a large document is never copied. The server then passes an empty
// reference to StoreDocument/WriteNewID, so such managers must not need the reference there.
type InPlaceDecoder interface {
	DecodeInPlace(ref []byte) ([]byte, error)
}

// Rollbacker is an optional capability used by transactional batches: it undoes a
// StoreDocument.
type Rollbacker interface {
	Rollback(ctx context.Context, ref string, chain []*x509.Certificate, params trifirma.Params) error
}

// Inline is the reference's default document manager: the reference is the document itself
// (Base64, either alphabet) and the identifier returned is the signature itself in padded
// URL-safe Base64.
type Inline struct {
	// MaxSize bounds the decoded document (0 = no limit beyond the request body cap).
	MaxSize int64
}

// GetDocument decodes ref.
func (m Inline) GetDocument(_ context.Context, ref string, _ []*x509.Certificate, _ trifirma.Params) ([]byte, error) {
	if m.MaxSize > 0 && int64(base64.StdEncoding.DecodedLen(len(ref))) > m.MaxSize+3 {
		return nil, fmt.Errorf("%w: document larger than %d bytes", trifirma.ErrTooLarge, m.MaxSize)
	}
	doc, err := b64.DecodeString(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: the document is not valid Base64", trifirma.ErrInvalidDocument)
	}
	if m.MaxSize > 0 && int64(len(doc)) > m.MaxSize {
		return nil, fmt.Errorf("%w: document larger than %d bytes", trifirma.ErrTooLarge, m.MaxSize)
	}
	return doc, nil
}

// DecodeInPlace decodes ref (Base64, either alphabet) over itself.
func (m Inline) DecodeInPlace(ref []byte) ([]byte, error) {
	if m.MaxSize > 0 && int64(base64.StdEncoding.DecodedLen(len(ref))) > m.MaxSize+3 {
		return nil, fmt.Errorf("%w: document larger than %d bytes", trifirma.ErrTooLarge, m.MaxSize)
	}
	n, err := b64.DecodeInPlace(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: the document is not valid Base64", trifirma.ErrInvalidDocument)
	}
	if m.MaxSize > 0 && int64(n) > m.MaxSize {
		return nil, fmt.Errorf("%w: document larger than %d bytes", trifirma.ErrTooLarge, m.MaxSize)
	}
	return ref[:n:n], nil
}

// StoreDocument returns the signature as padded URL-safe Base64.
func (Inline) StoreDocument(_ context.Context, _ string, _ []*x509.Certificate, signature []byte, _ trifirma.Params) (string, error) {
	return b64.EncodeURL(signature), nil
}

// WriteNewID streams the padded URL-safe Base64 of signature to w.
func (Inline) WriteNewID(_ context.Context, w io.Writer, _ string, _ []*x509.Certificate, signature trifirma.Signature, _ trifirma.Params) error {
	enc := base64.NewEncoder(base64.URLEncoding, w)
	if _, err := signature.WriteTo(enc); err != nil {
		return err
	}
	return enc.Close()
}
