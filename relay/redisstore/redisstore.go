// Package redisstore is a relay [github.com/trifirma/trifirma/relay.Store] on Redis, for running
// several relay instances behind a load balancer: an entry stored through one instance can be
// read through any other.
//
// Each entry is one string key, "<prefix><id>", written with SET ... PX <ttl> (Redis expires it)
// and read with GETDEL, which returns and deletes it atomically, so an entry is handed out at
// most once whichever instance asks. GETDEL needs Redis 6.2 or later.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trifirma/trifirma/relay/internal/storeapi"
)

// DefaultPrefix is the default key prefix.
const DefaultPrefix = "trifirma:relay:"

// Options configures a [Store].
type Options struct {
	// Prefix is prepended to every id to form the Redis key. Empty means [DefaultPrefix].
	Prefix string
}

// Store is a relay store on Redis. It is safe for concurrent use.
type Store struct {
	c      redis.UniversalClient
	prefix string
	owned  bool
}

// New returns a store using c. Close does not close c.
func New(c redis.UniversalClient, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	return &Store{c: c, prefix: opts.Prefix}
}

// Open connects to the Redis server named by rawURL ("redis://[user:password@]host:port/db",
// "rediss://..." for TLS, or "unix:///path/to/socket"; see [redis.ParseURL] for the query
// options), checks it with PING and returns a store that owns the connection pool. The default
// pool has 10 connections per CPU; a relay serving many concurrent requests should raise it,
// e.g. "redis://host:6379/0?pool_size=64".
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis store: %w", err)
	}
	c := redis.NewClient(o)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis store: ping %s: %w", o.Addr, err)
	}
	s := New(c, opts)
	s.owned = true
	return s, nil
}

// Put stores data under id with SET PX; Redis expires it after ttl (rounded up to a
// millisecond).
func (s *Store) Put(ctx context.Context, id string, data []byte, ttl time.Duration) error {
	if !storeapi.ValidID(id) {
		return fmt.Errorf("redis store put: %w", storeapi.ErrInvalidID)
	}
	if ttl <= 0 {
		return fmt.Errorf("redis store put: %w", storeapi.ErrInvalidTTL)
	}
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	if err := s.c.Set(ctx, s.prefix+id, data, ttl).Err(); err != nil {
		return fmt.Errorf("redis store put: %w", err)
	}
	return nil
}

// GetAndDelete returns and deletes the entry with GETDEL, or an error wrapping
// relay.ErrNotFound.
func (s *Store) GetAndDelete(ctx context.Context, id string) ([]byte, error) {
	if !storeapi.ValidID(id) {
		return nil, fmt.Errorf("redis store get: %w", storeapi.ErrInvalidID)
	}
	b, err := s.c.GetDel(ctx, s.prefix+id).Bytes()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, storeapi.ErrNotFound
		}
		return nil, fmt.Errorf("redis store get: %w", err)
	}
	return b, nil
}

// Client returns the underlying client.
func (s *Store) Client() redis.UniversalClient { return s.c }

// Close closes the client when the store was made by [Open]; otherwise it does nothing.
func (s *Store) Close() error {
	if s.owned {
		return s.c.Close()
	}
	return nil
}
