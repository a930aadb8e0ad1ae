package server

import (
	"crypto/x509"
	"sync"
)

// chainCache remembers parsed certificate chains by their wire text: the same signer sends the
// same `cert` value in presign and postsign (and for every document of a session), and parsing
// X.509 is a large share of a small request's cost. Parsed certificates are never modified.
// The cache is bounded; when full, an arbitrary half of it is dropped.
type chainCache struct {
	mu  sync.Mutex
	max int
	sep string
	m   map[string][]*x509.Certificate
}

func newChainCache(max int, sep string) *chainCache {
	return &chainCache{max: max, sep: sep, m: make(map[string][]*x509.Certificate)}
}

// parse returns the chain for the sep-joined Base64 DER list v, parsing it on a miss.
func (c *chainCache) parse(v, sep string) ([]*x509.Certificate, error) {
	if c == nil || len(v) > 64<<10 {
		return parseCertParam(v, sep)
	}
	if sep != c.sep {
		return parseCertParam(v, sep)
	}
	key := v
	c.mu.Lock()
	chain, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return chain, nil
	}
	chain, err := parseCertParam(v, sep)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		n := 0
		for k := range c.m {
			delete(c.m, k)
			if n++; n >= c.max/2 {
				break
			}
		}
	}
	c.m[key] = chain
	c.mu.Unlock()
	return chain, nil
}
