// Package relaytest holds test helpers for relay stores: a conformance suite every
// [relay.Store] must pass, a loopback load generator for the relay handlers, and a helper that
// starts a throwaway redis-server.
package relaytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/trifirma/trifirma/relay"
)

// StoreSuite runs the [relay.Store] contract against stores made by open, one per subtest.
// Expiry is checked with real time and short lifetimes (a few hundred milliseconds).
func StoreSuite(t *testing.T, open func(t *testing.T) relay.Store) {
	ctx := context.Background()
	t.Run("RoundTripReadOnce", func(t *testing.T) {
		s := open(t)
		payload := []byte("6.KSCk4xRsiiul5vrlTW0tQw==|payload")
		if err := s.Put(ctx, "abcDEF0123456789wxyz", payload, time.Minute); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetAndDelete(ctx, "abcDEF0123456789wxyz")
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("first read = %q, %v; want %q", got, err, payload)
		}
		if _, err := s.GetAndDelete(ctx, "abcDEF0123456789wxyz"); !errors.Is(err, relay.ErrNotFound) {
			t.Fatalf("second read err = %v, want ErrNotFound", err)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		s := open(t)
		if _, err := s.GetAndDelete(ctx, "never-stored"); !errors.Is(err, relay.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("OverwriteAndSizes", func(t *testing.T) {
		s := open(t)
		big := bytes.Repeat([]byte{0, 1, 2, 0xff, '\n', '|'}, 300000) // 1.8 MB, binary
		for _, p := range [][]byte{[]byte("first"), {}, big} {
			if err := s.Put(ctx, "over_write", p, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetAndDelete(ctx, "over_write")
		if err != nil || !bytes.Equal(got, big) {
			t.Fatalf("read %d bytes, %v; want the last payload (%d bytes)", len(got), err, len(big))
		}
		if err := s.Put(ctx, "empty", []byte{}, time.Minute); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetAndDelete(ctx, "empty"); err != nil || len(got) != 0 {
			t.Fatalf("empty payload: %q, %v", got, err)
		}
	})
	t.Run("InvalidInput", func(t *testing.T) {
		s := open(t)
		for _, id := range []string{"", "a.b", "../x", `a\b`, "a/b", "sp ace", string(make([]byte, relay.MaxIDLength+1))} {
			if err := s.Put(ctx, id, []byte("x"), time.Minute); !errors.Is(err, relay.ErrInvalidID) {
				t.Errorf("Put(%q) err = %v, want ErrInvalidID", id, err)
			}
			if _, err := s.GetAndDelete(ctx, id); !errors.Is(err, relay.ErrInvalidID) {
				t.Errorf("GetAndDelete(%q) err = %v, want ErrInvalidID", id, err)
			}
		}
		for _, ttl := range []time.Duration{0, -time.Second} {
			if err := s.Put(ctx, "ttl", []byte("x"), ttl); !errors.Is(err, relay.ErrInvalidTTL) {
				t.Errorf("Put ttl %v err = %v, want ErrInvalidTTL", ttl, err)
			}
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		s := open(t)
		if err := s.Put(ctx, "short", []byte("x"), 150*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, "long", []byte("y"), time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond)
		if _, err := s.GetAndDelete(ctx, "short"); !errors.Is(err, relay.ErrNotFound) {
			t.Fatalf("expired entry: err = %v, want ErrNotFound", err)
		}
		if got, err := s.GetAndDelete(ctx, "long"); err != nil || string(got) != "y" {
			t.Fatalf("live entry: %q, %v", got, err)
		}
	})
	t.Run("ConcurrentReadersGetOneCopy", func(t *testing.T) {
		s := open(t)
		const ids, readers = 20, 8
		for i := range ids {
			if err := s.Put(ctx, fmt.Sprintf("race%d", i), []byte(fmt.Sprint(i)), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		wins := map[string]int{}
		var wg sync.WaitGroup
		for range readers {
			wg.Go(func() {
				for i := range ids {
					id := fmt.Sprintf("race%d", i)
					got, err := s.GetAndDelete(ctx, id)
					if errors.Is(err, relay.ErrNotFound) {
						continue
					}
					if err != nil || string(got) != fmt.Sprint(i) {
						t.Errorf("%s: %q, %v", id, got, err)
						continue
					}
					mu.Lock()
					wins[id]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for i := range ids {
			if n := wins[fmt.Sprintf("race%d", i)]; n != 1 {
				t.Errorf("race%d was read %d times, want exactly 1", i, n)
			}
		}
	})
}
