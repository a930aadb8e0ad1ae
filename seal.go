package trifirma

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultSessionTTL is how long a sealed session stays valid (the time a user has to enter a
// PIN and the device to sign).
const DefaultSessionTTL = 10 * time.Minute

// Sealer integrity-protects the sessions that travel through the client between presign and
// postsign. The seal (parameter SEAL of the first firma) is an HMAC-SHA256 over every value the
// server put in the session (in order, PK1 excepted), the format, operation and algorithm, the
// signer certificate, the extra parameters and an expiry. Postsign refuses a session whose seal
// is missing, different or expired, so a client can neither alter PRE, TIME, PID or BASE, nor
// replay a session with another certificate, document parameters or format.
//
// PRE is covered only where NEED_PRE is "true" (elsewhere the client drops it, and postsign
// does not trust a PRE that comes back).
//
// The document itself is bound through PRE (its message digest, or the digest of the PDF byte
// ranges, or the XML references), which each engine checks against the document in postsign.
//
// A Sealer is safe for concurrent use. All the servers of a cluster must share the key.
type Sealer struct {
	key  []byte
	macs sync.Pool // keyed HMAC-SHA256 states, reset after use
	// TTL is the lifetime of a seal; zero means DefaultSessionTTL.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// NewSealer returns a Sealer with the given key, which must be at least 32 bytes.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("trifirma: session key must be at least 32 bytes, got %d", len(key))
	}
	return &Sealer{key: slices.Clone(key)}, nil
}

// GenerateSealer returns a Sealer with a fresh random key (valid for a single process).
func GenerateSealer() *Sealer {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("trifirma: crypto/rand failed: " + err.Error())
	}
	return &Sealer{key: k}
}

// SealContext is what a session is bound to besides its own content.
type SealContext struct {
	Format    Format
	Operation Operation
	Algorithm SignatureAlgorithm
	Signer    *x509.Certificate
	Params    Params
}

func (s *Sealer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

const sealVersion = "1"

// Seal adds a seal to td (replacing any previous one).
func (s *Sealer) Seal(td *TriphaseData, c SealContext) error {
	if len(td.Signs) == 0 {
		return fmt.Errorf("%w: nothing to seal", ErrInvalidSession)
	}
	for _, sd := range td.Signs {
		sd.Delete(ParamSeal)
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	exp := s.now().Add(ttl).Unix()
	mac := s.mac(td, c, exp)
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(exp))
	td.Signs[0].Set(ParamSeal, sealVersion+"."+base64.RawURLEncoding.EncodeToString(append(buf[:], mac...)))
	return nil
}

// Open checks td's seal against its content and c, then removes it. Errors wrap
// [ErrSessionTampered] or [ErrSessionExpired].
func (s *Sealer) Open(td *TriphaseData, c SealContext) error {
	if len(td.Signs) == 0 {
		return fmt.Errorf("%w: session has no firma", ErrInvalidSession)
	}
	v, ok := td.Signs[0].Get(ParamSeal)
	if !ok {
		return fmt.Errorf("%w: session is not sealed", ErrSessionTampered)
	}
	ver, rest, _ := strings.Cut(strings.TrimSpace(v), ".")
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if ver != sealVersion || err != nil || len(raw) != 8+sha256.Size {
		return fmt.Errorf("%w: malformed seal", ErrSessionTampered)
	}
	for i, sd := range td.Signs {
		if _, ok := sd.Get(ParamSeal); ok && i > 0 {
			return fmt.Errorf("%w: unexpected seal on firma %d", ErrSessionTampered, i)
		}
	}
	td.Signs[0].Delete(ParamSeal)
	exp := int64(binary.BigEndian.Uint64(raw[:8]))
	want := s.mac(td, c, exp)
	if !hmac.Equal(want, raw[8:]) {
		td.Signs[0].Set(ParamSeal, v)
		return fmt.Errorf("%w: seal does not match", ErrSessionTampered)
	}
	if s.now().Unix() > exp {
		return fmt.Errorf("%w: expired at %s", ErrSessionExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

func (s *Sealer) mac(td *TriphaseData, c SealContext, exp int64) []byte {
	// Everything bound goes into one buffer, each value length-prefixed, and through the HMAC
	// in one write.
	bp := sealBuffers.Get().(*[]byte)
	b := appendField((*bp)[:0], "trifirma-session-seal-v1")
	b = binary.BigEndian.AppendUint64(b, uint64(exp))
	b = appendField(b, string(c.Format))
	b = appendField(b, string(c.Operation))
	b = appendField(b, c.Algorithm.String())
	if c.Signer != nil {
		h := sha256.Sum256(c.Signer.Raw)
		b = appendField(b, h[:])
	} else {
		b = appendField(b, "")
	}
	pd := c.Params.Digest()
	b = appendField(b, pd[:])
	b = appendField(b, strings.TrimSpace(td.Format))
	b = binary.BigEndian.AppendUint64(b, uint64(len(td.Signs)))
	var ps []Param
	for _, sd := range td.Signs {
		b = appendField(b, sd.ID)
		b = appendField(b, sd.SignID)
		needPre := false
		if v, ok := sd.Get(ParamNeedPRE); ok && strings.EqualFold(strings.TrimSpace(v), "true") {
			needPre = true
		}
		ps = ps[:0]
		for _, p := range sd.Params {
			if p.Name == ParamPK1 || p.Name == ParamSeal || (p.Name == ParamPRE && !needPre) {
				continue
			}
			ps = append(ps, p)
		}
		// The client re-serialises params in its own (hash-map) order: bind them sorted.
		slices.SortFunc(ps, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
		b = binary.BigEndian.AppendUint64(b, uint64(len(ps)))
		for _, p := range ps {
			b = appendField(b, p.Name)
			b = appendField(b, strings.TrimSpace(p.Value))
		}
	}
	m, _ := s.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, s.key)
	}
	m.Write(b)
	sum := m.Sum(make([]byte, 0, sha256.Size))
	m.Reset() // back to the keyed initial state
	s.macs.Put(m)
	if cap(b) <= 256<<10 {
		*bp = b[:0]
		sealBuffers.Put(bp)
	}
	return sum
}

// sealBuffers recycles the buffers [Sealer.mac] serialises into.
var sealBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// appendField appends v with its length (8 bytes, big-endian) in front.
func appendField[T string | []byte](b []byte, v T) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(v)))
	return append(b, v...)
}

// ReferenceHMAC computes the reference implementation's optional per-firma integrity code
// (verification.key): Base64(HmacSHA256(key, PRE-text ‖ key ‖ DER(signer certificate))).
func ReferenceHMAC(key, preText string, signerDER []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(preText))
	m.Write([]byte(key))
	m.Write(signerDER)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
