package relay

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/trifirma/trifirma/relay/redisstore"
)

// ErrStoreSpec reports a store spec [OpenStore] does not understand.
var ErrStoreSpec = errors.New("relay: unknown store spec")

// OpenStore opens the store named by spec, as given to "trifirma serve" by flag or environment:
//
//   - "memory" (or empty): a new [MemoryStore];
//   - "dir:PATH": a [DirStore] on PATH (created if missing);
//   - "redis://...", "rediss://..." or "unix://...": a Redis store
//     ([github.com/trifirma/trifirma/relay/redisstore.Open]), checked with PING.
//
// The caller must Close the store.
func OpenStore(ctx context.Context, spec string) (Store, error) {
	switch {
	case spec == "" || spec == "memory":
		return NewMemoryStore(MemoryOptions{}), nil
	case strings.HasPrefix(spec, "dir:"):
		return NewDirStore(strings.TrimPrefix(spec, "dir:"), DirOptions{})
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"), strings.HasPrefix(spec, "unix://"):
		s, err := redisstore.Open(ctx, spec, redisstore.Options{})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("%w %q (want memory, dir:PATH or redis://...)", ErrStoreSpec, spec)
}
