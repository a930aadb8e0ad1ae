// Package postsign runs the third phase of a triphase signature for every caller: it checks the
// session's seal (and the reference's optional verification codes) and only then lets the
// format's engine verify every signature value the device produced and assemble the final
// signature.
package postsign

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/presign"
)

// ErrVerificationCode reports a missing or wrong reference HMAC parameter (wire ERR-17).
var ErrVerificationCode = errors.New("postsign: verification code of the signatures is missing or wrong")

// Postsigner runs phase 3. Engines and Sealer are required. Safe for concurrent use.
type Postsigner struct {
	Engines trifirma.Registry
	// Sealer opens the sessions sealed by the presign phase (same key).
	Sealer *trifirma.Sealer
	// VerificationKey, when non-empty, requires the reference's HMAC parameter on every firma.
	VerificationKey string
}

// Postsign assembles the signature for req from session, which must carry a PK1 for every
// firma. The session's seal (and verification codes) are checked before the engine runs; the
// engine verifies every PK1 against the exact bytes it signs before assembling anything, as the
// [trifirma.Engine] contract requires. Nothing is assembled when any check fails.
func (p *Postsigner) Postsign(ctx context.Context, req *trifirma.Request, session *trifirma.TriphaseData) ([]byte, error) {
	if err := p.Verify(req, session); err != nil {
		return nil, err
	}
	eng, err := p.Engines.Engine(req.Format)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return eng.Postsign(ctx, req, session)
}

// PostsignStream is [Postsigner.Postsign] returning the signature as a [trifirma.Signature]:
// engines that implement [trifirma.StreamingPostsigner] (PAdES) return it without copying the
// document, which then must stay unchanged while the result is used.
func (p *Postsigner) PostsignStream(ctx context.Context, req *trifirma.Request, session *trifirma.TriphaseData) (trifirma.Signature, error) {
	if err := p.Verify(req, session); err != nil {
		return nil, err
	}
	eng, err := p.Engines.Engine(req.Format)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return trifirma.PostsignStream(ctx, eng, req, session)
}

// Verify performs the checks Postsign does before the engine runs: the seal, the verification
// codes and the presence of every PK1. It removes the seal from session.
func (p *Postsigner) Verify(req *trifirma.Request, session *trifirma.TriphaseData) error {
	if p.Sealer == nil {
		return fmt.Errorf("postsign: no Sealer configured")
	}
	signer, err := req.Signer()
	if err != nil {
		return err
	}
	if session == nil || len(session.Signs) == 0 {
		return fmt.Errorf("%w: the session has no firma", trifirma.ErrInvalidSession)
	}
	if err := p.Sealer.Open(session, presign.SealContext(req)); err != nil {
		return err
	}
	for i, sd := range session.Signs {
		needPre, _ := sd.Get(trifirma.ParamNeedPRE)
		if p.VerificationKey != "" && strings.EqualFold(strings.TrimSpace(needPre), "true") {
			// The code covers PRE, so it exists only where the client keeps PRE (the seal
			// already binds NEED_PRE and every other server value).
			pre, _ := sd.Get(trifirma.ParamPRE)
			got, ok := sd.Get(trifirma.ParamHMAC)
			if !ok || strings.TrimSpace(pre) == "" ||
				strings.TrimSpace(got) != trifirma.ReferenceHMAC(p.VerificationKey, strings.TrimSpace(pre), signer.Raw) {
				return fmt.Errorf("%w (firma %d)", ErrVerificationCode, i)
			}
		}
		if _, err := sd.Bytes(trifirma.ParamPK1); err != nil {
			return err
		}
	}
	return nil
}
