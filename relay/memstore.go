package relay

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// ErrStoreFull reports that a [MemoryStore] would exceed its byte budget.
var ErrStoreFull = errors.New("relay: store is full")

// MemoryOptions configures a [MemoryStore]. The zero value is usable.
type MemoryOptions struct {
	// Now is the store's clock. Nil means [time.Now].
	Now func() time.Time
	// MaxBytes bounds the total size of the live payloads; a Put that would exceed it fails
	// with [ErrStoreFull] (the handlers answer ERR-18). Zero means 1 GiB.
	MaxBytes int64
	// SweepInterval is how often a background goroutine drops expired entries that nobody read.
	// Expired entries are also dropped by Put on the same shard, so the sweeper only returns the
	// memory of idle stores. Zero means 5 s; a negative value disables the goroutine.
	SweepInterval time.Duration
}

const memShards = 64

// MemoryStore is an in-process [Store]: a sharded map whose shards each keep a min-heap of
// expiry times, so that expiring entries costs O(log n) per entry and never a scan. It is the
// default store of "trifirma serve". Entries do not survive a restart and are not shared between
// processes; use [DirStore] or the Redis store for that.
type MemoryStore struct {
	now      func() time.Time
	maxBytes int64
	bytes    atomic.Int64
	seed     maphash.Seed
	shards   [memShards]memShard
	stop     chan struct{}
	done     chan struct{}
	closed   atomic.Bool
}

type memShard struct {
	mu sync.Mutex
	m  map[string]*memEntry
	h  memHeap
	_  [24]byte // 64 bytes a shard: keep shards on separate cache lines
}

type memEntry struct {
	id   string
	data []byte
	exp  int64 // UnixNano
	idx  int   // position in the shard's heap
}

type memHeap []*memEntry

func (h memHeap) Len() int           { return len(h) }
func (h memHeap) Less(i, j int) bool { return h[i].exp < h[j].exp }
func (h memHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *memHeap) Push(x any) {
	e := x.(*memEntry)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *memHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	e.idx = -1
	return e
}

// NewMemoryStore returns an empty [MemoryStore]. Call Close to stop its sweeper.
func NewMemoryStore(opts MemoryOptions) *MemoryStore {
	s := &MemoryStore{
		now:      opts.Now,
		maxBytes: opts.MaxBytes,
		seed:     maphash.MakeSeed(),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBytes <= 0 {
		s.maxBytes = 1 << 30
	}
	for i := range s.shards {
		s.shards[i].m = make(map[string]*memEntry)
	}
	interval := opts.SweepInterval
	if interval == 0 {
		interval = 5 * time.Second
	}
	if interval > 0 {
		go s.sweeper(interval)
	} else {
		close(s.done)
	}
	return s
}

func (s *MemoryStore) shard(id string) *memShard {
	return &s.shards[maphash.String(s.seed, id)%memShards]
}

// Put implements [Store].
func (s *MemoryStore) Put(_ context.Context, id string, data []byte, ttl time.Duration) error {
	if !ValidID(id) {
		return fmt.Errorf("memory store put: %w", ErrInvalidID)
	}
	if ttl <= 0 {
		return fmt.Errorf("memory store put: %w", ErrInvalidTTL)
	}
	if s.closed.Load() {
		return errors.New("memory store put: store is closed")
	}
	now := s.now().UnixNano()
	sh := s.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.expireLocked(sh, now)
	old := sh.m[id]
	delta := int64(len(data))
	if old != nil {
		delta -= int64(len(old.data))
	}
	if s.bytes.Add(delta) > s.maxBytes && delta > 0 {
		s.bytes.Add(-delta)
		return fmt.Errorf("memory store put: %w (%d bytes in use)", ErrStoreFull, s.bytes.Load())
	}
	exp := now + int64(ttl)
	if old != nil {
		old.data, old.exp = data, exp
		heap.Fix(&sh.h, old.idx)
		return nil
	}
	e := &memEntry{id: id, data: data, exp: exp}
	sh.m[id] = e
	heap.Push(&sh.h, e)
	return nil
}

// GetAndDelete implements [Store].
func (s *MemoryStore) GetAndDelete(_ context.Context, id string) ([]byte, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("memory store get: %w", ErrInvalidID)
	}
	now := s.now().UnixNano()
	sh := s.shard(id)
	sh.mu.Lock()
	e := sh.m[id]
	if e == nil {
		sh.mu.Unlock()
		return nil, ErrNotFound
	}
	delete(sh.m, id)
	heap.Remove(&sh.h, e.idx)
	sh.mu.Unlock()
	s.bytes.Add(-int64(len(e.data)))
	if e.exp <= now {
		return nil, ErrNotFound
	}
	return e.data, nil
}

// Len returns the number of entries held, expired ones not yet dropped included.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// Sweep drops every expired entry now. The background sweeper calls it periodically.
func (s *MemoryStore) Sweep() {
	now := s.now().UnixNano()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		s.expireLocked(sh, now)
		sh.mu.Unlock()
	}
}

func (s *MemoryStore) expireLocked(sh *memShard, now int64) {
	for len(sh.h) > 0 && sh.h[0].exp <= now {
		e := heap.Pop(&sh.h).(*memEntry)
		delete(sh.m, e.id)
		s.bytes.Add(-int64(len(e.data)))
	}
}

func (s *MemoryStore) sweeper(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Close stops the sweeper. Later Puts fail; the entries already held stay readable.
func (s *MemoryStore) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		close(s.stop)
	}
	<-s.done
	return nil
}
