// Package postsign runs the third phase of a triphase signature for every caller: it checks the
// session's seal (and the reference's optional verification codes), verifies every signature
// value the device produced against the signer certificate and the exact bytes it was asked to
// sign, and only then lets the format's engine assemble the final signature.
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
// firma. The session is checked and each PK1 verified before the engine runs; nothing is
// assembled when any check fails.
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

// Verify performs every check Postsign does before the engine runs: the seal, the verification
// codes, and each PK1 against PRE with the signer certificate. It removes the seal from session.
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
		pk1, err := sd.Bytes(trifirma.ParamPK1)
		if err != nil {
			return err
		}
		if !strings.EqualFold(strings.TrimSpace(needPre), "true") {
			// Formats whose PRE the client drops (NONE) verify PK1 in the engine; a PRE sent
			// back without NEED_PRE is not covered by the seal and is not trusted.
			continue
		}
		pre, err := sd.Bytes(trifirma.ParamPRE)
		if err != nil {
			return err
		}
		if err := trifirma.VerifySignature(signer, req.Algorithm, pre, pk1); err != nil {
			return fmt.Errorf("firma %d (%s): %w", i, sd.ID, err)
		}
	}
	return nil
}
