// Package none implements format NONE: a raw PKCS#1 (or DER ECDSA) signature of the document,
// as the reference's Pkcs1TriPhasePreProcessor. Presign returns the document itself as PRE
// without NEED_PRE (so the client drops it); postsign verifies PK1 against the document and
// returns it. Only OpSign is supported.
package none

import (
	"context"
	"fmt"

	"github.com/trifirma/trifirma"
)

// Engine is the NONE engine. The zero value is ready to use and safe for concurrent use.
type Engine struct{}

// New returns a NONE engine.
func New() *Engine { return &Engine{} }

// Presign returns one firma with PRE = the document.
func (Engine) Presign(_ context.Context, req *trifirma.Request) (*trifirma.TriphaseData, error) {
	if req.Operation != trifirma.OpSign {
		return nil, fmt.Errorf("%w: format NONE only signs (got %s)", trifirma.ErrUnsupportedOperation, req.Operation)
	}
	if len(req.Document) == 0 {
		return nil, fmt.Errorf("%w: empty document", trifirma.ErrInvalidDocument)
	}
	id := req.Params.Get("SignatureId", "")
	if id == "" {
		id = trifirma.NewUUID()
	}
	sd := &trifirma.SignData{ID: id}
	sd.Set(trifirma.ParamPRE, trifirma.EncodeStd(req.Document))
	return &trifirma.TriphaseData{Signs: []*trifirma.SignData{sd}}, nil
}

// Postsign verifies PK1 over the document and returns it.
func (Engine) Postsign(_ context.Context, req *trifirma.Request, td *trifirma.TriphaseData) ([]byte, error) {
	if req.Operation != trifirma.OpSign {
		return nil, fmt.Errorf("%w: format NONE only signs (got %s)", trifirma.ErrUnsupportedOperation, req.Operation)
	}
	if len(td.Signs) != 1 {
		return nil, fmt.Errorf("%w: format NONE expects one firma, got %d", trifirma.ErrInvalidSession, len(td.Signs))
	}
	signer, err := req.Signer()
	if err != nil {
		return nil, err
	}
	pk1, err := td.Signs[0].Bytes(trifirma.ParamPK1)
	if err != nil {
		return nil, err
	}
	if len(req.Document) == 0 {
		return nil, fmt.Errorf("%w: format NONE needs the document in postsign", trifirma.ErrInvalidDocument)
	}
	if err := trifirma.VerifySignature(signer, req.Algorithm, req.Document, pk1); err != nil {
		return nil, err
	}
	return pk1, nil
}
