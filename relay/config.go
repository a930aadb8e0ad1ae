package relay

import (
	"log/slog"
	"time"
)

// DefaultExpiry is the default life of a relay entry, the reference's expTime (60000 ms).
const DefaultExpiry = 60 * time.Second

// DefaultMaxSize is the default cap on a stored payload (decoded bytes): 16 MiB. The reference's
// default is unlimited; a signed PDF travelling back to the page is the largest payload in
// practice.
const DefaultMaxSize = 16 << 20

// Config configures the StorageService and RetrieveService handlers. The zero value is usable.
type Config struct {
	// Expiry is the time to live given to each stored entry. Zero means [DefaultExpiry].
	Expiry time.Duration
	// MaxSize caps the decoded size of a stored payload in bytes. Larger uploads are replaced by
	// the ERR-07 text, as the reference does (see the package documentation). Zero means
	// [DefaultMaxSize]; there is no "unlimited".
	MaxSize int64
	// Logger receives one record per refused or failed request (Warn/Error) and, at Debug, one
	// per successful put or get. Payloads are never logged and ids are shortened. Nil means
	// [slog.Default].
	Logger *slog.Logger
	// Now is the clock used to time requests in log records. Nil means [time.Now]. Expiry is
	// enforced by the [Store]; the memory and directory stores take their own clock
	// ([MemoryOptions.Now], [DirOptions.Now]).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Expiry <= 0 {
		c.Expiry = DefaultExpiry
	}
	if c.MaxSize <= 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
