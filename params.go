package trifirma

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/internal/jprops"
)

// Params are the extra parameters of a signature (the reference's extraParams): string keys and
// values as parsed from Java .properties text. A nil Params is an empty set.
type Params map[string]string

// ParseParams parses Java .properties text (see [jprops.Parse]).
func ParseParams(text string) (Params, error) {
	m, err := jprops.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidParams, err)
	}
	return Params(m), nil
}

// DecodeParams decodes a Base64 (either alphabet) properties blob as sent in `params`,
// `extraparams` and saver `config`. Empty input yields an empty set.
func DecodeParams(blob string) (Params, error) {
	if strings.TrimSpace(blob) == "" {
		return Params{}, nil
	}
	raw, err := b64.DecodeString(blob)
	if err != nil {
		return nil, fmt.Errorf("%w: extra parameters are not Base64", ErrInvalidParams)
	}
	return ParseParams(string(raw))
}

// Encode returns the padded URL-safe Base64 of the properties text, as the Java clients send it.
func (p Params) Encode() string { return b64.EncodeURL([]byte(jprops.Format(p, ""))) }

// String returns the properties text of p with sorted keys.
func (p Params) String() string { return jprops.Format(p, "") }

// Clone returns a copy of p (never nil).
func (p Params) Clone() Params {
	c := make(Params, len(p))
	maps.Copy(c, p)
	return c
}

// Get returns the value of key, or def when absent.
func (p Params) Get(key, def string) string {
	if v, ok := p[key]; ok {
		return v
	}
	return def
}

// Bool returns true when key is "true" (any case), false when it is anything else, and def
// when it is absent — the reference's Boolean.parseBoolean with a default.
func (p Params) Bool(key string, def bool) bool {
	v, ok := p[key]
	if !ok {
		return def
	}
	return strings.EqualFold(strings.TrimSpace(v), "true")
}

// Int returns the integer value of key, def when absent, or an error wrapping
// [ErrInvalidParams] when present but not an integer.
func (p Params) Int(key string, def int) (int, error) {
	v, ok := p[key]
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not an integer", ErrInvalidParams, key, v)
	}
	return n, nil
}

// Digest returns a SHA-256 over a canonical, unambiguous encoding of p (sorted keys,
// length-prefixed), used to bind a session to the parameters it was computed with.
func (p Params) Digest() [32]byte {
	n := 0
	for k, v := range p {
		n += 16 + len(k) + len(v)
	}
	b := make([]byte, 0, n)
	for _, k := range slices.Sorted(maps.Keys(p)) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.BigEndian.AppendUint64(b, uint64(len(p[k])))
		b = append(b, p[k]...)
	}
	return sha256.Sum256(b)
}
