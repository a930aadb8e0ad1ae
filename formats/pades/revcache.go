package pades

import (
	"container/list"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"slices"
	"sync"
	"time"

	"github.com/trifirma/trifirma"
)

// DefaultRevisionCache is the default of [Config.RevisionCache].
const DefaultRevisionCache = 16 << 20

// revCache keeps the incremental updates that presign prepared (with their /Contents
// placeholder, read back once) so that the postsign of the same session does not parse the
// document and write the update again. The key binds everything besides the document that the
// update depends on, as postsign receives it: PRE, TIME, PID, the request parameters and the
// certificate chain (see revKey); a postsign with other values misses and rebuilds.
//
// A hit is only a candidate: postsign still hashes the caller's document followed by the
// cached update and requires the signed attributes it derives to be PRE byte for byte. PRE
// commits to the digest of exactly those bytes, so the candidate is used only when it is the
// revision a rebuild would produce; otherwise the postsign fails as a rebuild would. The cache holds no document and nothing that refers to one (the caller's buffers
// may be reused): only copies of updates, bounded in bytes and in age.
type revCache struct {
	mu   sync.Mutex
	max  int // bytes of updates; 0 disables the cache
	ttl  time.Duration
	size int
	lru  list.List // of *revEntry, most recent first
	m    map[[32]byte]*list.Element
	hits int // for tests
}

type revEntry struct {
	key      [32]byte
	upd      []byte // read-only
	docLen   int
	cStart   int
	cEnd     int
	reserved int
	expires  time.Time
}

func newRevCache(max int) *revCache {
	return &revCache{max: max, ttl: trifirma.DefaultSessionTTL, m: make(map[[32]byte]*list.Element)}
}

// enabled reports whether the cache keeps anything (callers skip computing keys otherwise).
func (c *revCache) enabled() bool { return c.max > 0 }

// revKey identifies the inputs of a revision other than the document.
func revKey(pre []byte, when time.Time, pid []byte, params trifirma.Params, chain []*x509.Certificate) [32]byte {
	h := sha256.New()
	var n [8]byte
	field := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field(pre)
	binary.BigEndian.PutUint64(n[:], uint64(when.UnixMilli()))
	h.Write(n[:])
	field(pid)
	pd := params.Digest()
	field(pd[:])
	for _, c := range chain {
		field(c.Raw)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// put records rv under key.
func (c *revCache) put(key [32]byte, rv *revision, now time.Time) {
	if c.max <= 0 || len(rv.upd) > c.max/4 {
		return
	}
	e := &revEntry{key: key, upd: slices.Clone(rv.upd), docLen: len(rv.doc), cStart: rv.cStart,
		cEnd: rv.cEnd, reserved: rv.reserved, expires: now.Add(c.ttl)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[e.key]; ok {
		c.remove(el)
	}
	c.m[e.key] = c.lru.PushFront(e)
	c.size += len(e.upd)
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

// get returns a revision of doc built from the update cached under key (a private copy of it),
// or nil.
func (c *revCache) get(key [32]byte, doc []byte, now time.Time) *revision {
	if c.max <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[key]
	if !ok {
		return nil
	}
	e := el.Value.(*revEntry)
	if now.After(e.expires) {
		c.remove(el)
		return nil
	}
	if e.docLen != len(doc) {
		return nil
	}
	c.lru.MoveToFront(el)
	c.hits++
	return &revision{doc: doc, upd: slices.Clone(e.upd), cStart: e.cStart, cEnd: e.cEnd, reserved: e.reserved}
}

func (c *revCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*revEntry)
	delete(c.m, e.key)
	c.size -= len(e.upd)
}
