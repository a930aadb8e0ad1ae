// Package presign runs the first phase of a triphase signature for every caller (the
// SignatureService handler, the batch handlers and Go code): it picks the format's engine,
// fixes the signing time, lets the engine compute what must be signed, adds the reference's
// optional verification codes and seals the session so postsign can trust what comes back.
package presign

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/trifirma/trifirma"
)

// Presigner runs phase 1. The zero value is not usable: Engines and Sealer are required. A
// Presigner is safe for concurrent use once configured.
type Presigner struct {
	// Engines resolves the request's format.
	Engines trifirma.Registry
	// Sealer seals every session (required).
	Sealer *trifirma.Sealer
	// Now is the clock for the signing time; nil means time.Now.
	Now func() time.Time
	// VerificationKey, when non-empty, adds the reference's HMAC parameter to every firma
	// (tps_config.properties verification.key), for deployments whose clients or peers expect it.
	VerificationKey string
}

// Presign computes the session for req. req.Time is set from the clock when zero. Errors are
// the engine's (wrapping the root sentinels) or wrap [trifirma.ErrInvalidSession] when the
// engine produced an unusable session.
func (p *Presigner) Presign(ctx context.Context, req *trifirma.Request) (*trifirma.TriphaseData, error) {
	if p.Sealer == nil {
		return nil, fmt.Errorf("presign: no Sealer configured")
	}
	signer, err := req.Signer()
	if err != nil {
		return nil, err
	}
	eng, err := p.Engines.Engine(req.Format)
	if err != nil {
		return nil, err
	}
	if req.Time.IsZero() {
		if p.Now != nil {
			req.Time = p.Now()
		} else {
			req.Time = time.Now()
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	td, err := eng.Presign(ctx, req)
	if err != nil {
		return nil, err
	}
	if td == nil || len(td.Signs) == 0 {
		return nil, fmt.Errorf("%w: the %s engine produced no signature to make", trifirma.ErrInvalidSession, req.Format)
	}
	if p.VerificationKey != "" {
		for _, sd := range td.Signs {
			pre, ok := sd.Get(trifirma.ParamPRE)
			if !ok {
				continue
			}
			sd.Set(trifirma.ParamHMAC, trifirma.ReferenceHMAC(p.VerificationKey, strings.TrimSpace(pre), signer.Raw))
		}
	}
	if err := p.Sealer.Seal(td, SealContext(req)); err != nil {
		return nil, err
	}
	return td, nil
}

// SealContext is what a session made for req is bound to.
func SealContext(req *trifirma.Request) trifirma.SealContext {
	c := trifirma.SealContext{Format: req.Format, Operation: req.Operation, Algorithm: req.Algorithm, Params: req.Params}
	if len(req.Chain) > 0 {
		c.Signer = req.Chain[0]
	}
	return c
}
