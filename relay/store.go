package relay

import (
	"context"
	"time"

	"github.com/trifirma/trifirma/relay/internal/storeapi"
)

// Store keeps relay entries: opaque byte payloads under an id, each with its own time to live,
// readable at most once. Implementations must be safe for concurrent use, and GetAndDelete must
// hand a payload to at most one caller even when several readers race (also across processes for
// stores shared between instances).
//
// The implementations in this module are [MemoryStore], [DirStore] and
// [github.com/trifirma/trifirma/relay/redisstore.Store]; [OpenStore] picks one from a spec string.
type Store interface {
	// Put stores data under id for ttl, replacing any previous entry. The store may keep a
	// reference to data; callers must not modify it afterwards. ttl must be positive.
	Put(ctx context.Context, id string, data []byte, ttl time.Duration) error
	// GetAndDelete returns the payload stored under id and removes it, or an error wrapping
	// [ErrNotFound] when there is no live entry.
	GetAndDelete(ctx context.Context, id string) ([]byte, error)
	// Close releases the store's resources (background sweepers, connections).
	Close() error
}

// ErrNotFound reports that no live entry exists under an id: never stored, already read, or
// expired. The handlers answer it with ERR-06, like the reference, without telling which.
var ErrNotFound = storeapi.ErrNotFound

// ErrInvalidID reports an id that [ValidID] rejects.
var ErrInvalidID = storeapi.ErrInvalidID

// ErrInvalidTTL reports a non-positive time to live passed to [Store.Put].
var ErrInvalidTTL = storeapi.ErrInvalidTTL

// MaxIDLength is the longest id the handlers and stores accept. Reference clients send 20.
const MaxIDLength = storeapi.MaxIDLength

// ValidID reports whether id is acceptable: 1 to [MaxIDLength] characters from A-Z, a-z, 0-9,
// '-' and '_'. This is stricter than the reference (which only refuses '.', '/' and '\' and
// paths escaping its directory) but accepts every id the reference clients generate.
func ValidID(id string) bool { return storeapi.ValidID(id) }
