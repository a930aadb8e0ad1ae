package batch

import (
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/trifirma/trifirma/batch/fetch"
	"github.com/trifirma/trifirma/docmanager"
	"github.com/trifirma/trifirma/postsign"
	"github.com/trifirma/trifirma/presign"
)

// Defaults of a [Config].
const (
	// DefaultMaxDocuments caps the entries of a batch (the reference has no default cap).
	DefaultMaxDocuments = 1000
	// DefaultMaxBatchSize caps the decoded JSON batch definition (64 MiB).
	DefaultMaxBatchSize = 64 << 20
	// MaxXMLBatchSize is the seed specification's limit on an XML batch definition (1,024 KB).
	MaxXMLBatchSize = 1024 << 10
	// DefaultMaxDocSize caps each document (the reference's docmanager default, 8,000,000).
	DefaultMaxDocSize = 8_000_000
	// DefaultMaxBodySize caps request bodies (128 MiB).
	DefaultMaxBodySize = 128 << 20
	// DefaultConcurrency is the worker pool size (the reference's concurrent.maxsigns).
	DefaultConcurrency = 10
	// DefaultTimeout bounds each phase of a batch (presign; postsign and saving).
	DefaultTimeout = 2 * time.Minute
	// DefaultSpoolMemory is how many bytes of signatures a transactional batch keeps in memory
	// before spilling to temporary files.
	DefaultSpoolMemory = 64 << 20
)

// Config configures a [Signer] and the batch handlers. Presigner and Postsigner are required
// (share them with the SignatureService: server.Server.Presigner/Postsigner); every other field
// has a safe default.
type Config struct {
	// Presigner and Postsigner run each entry's phases, exactly as for a single signature.
	Presigner  *presign.Presigner
	Postsigner *postsign.Postsigner
	// Documents resolves JSON datareferences (and SourceReference entries) and stores the
	// JSON batch's signatures; docmanager.Rollbacker is used by transactional batches. nil
	// means docmanager.Inline{MaxSize: MaxDocSize}, the reference's default.
	Documents docmanager.Manager
	// Fetcher downloads URL data sources of XML batches; nil refuses them (the default).
	Fetcher *fetch.Fetcher
	// DisableText refuses XML data sources that are neither URLs nor Base64 (the seed's
	// discouraged third mode).
	DisableText bool
	// Savers maps XML signsaver classes to implementations; nil (or a class it lacks) makes
	// the XML batches that name it invalid.
	Savers *SaverRegistry
	// XMLEnabled enables the XML batch handlers (legacy.xmlBatchEnabled); disabled they
	// answer 503.
	XMLEnabled bool
	// MaxDocuments caps the entries of a batch; 0 means DefaultMaxDocuments, negative means
	// no cap.
	MaxDocuments int
	// MaxBatchSize caps the decoded JSON batch definition in bytes; 0 means
	// DefaultMaxBatchSize. XML definitions are also capped at MaxXMLBatchSize.
	MaxBatchSize int64
	// MaxReferenceSize caps each datareference/datasource in characters; 0 means no cap
	// beyond MaxBatchSize.
	MaxReferenceSize int
	// MaxDocSize caps each resolved document in bytes; 0 means DefaultMaxDocSize.
	MaxDocSize int64
	// MaxBodySize caps request bodies; 0 means DefaultMaxBodySize.
	MaxBodySize int64
	// Concurrency is the number of entries processed at once; 0 means DefaultConcurrency.
	Concurrency int
	// Timeout bounds each phase; a batch's concurrenttimeout can only lower it. 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// TempDir receives the temporary files of transactional batches; "" means os.TempDir().
	TempDir string
	// SpoolMemory is the signature bytes a transactional batch keeps in memory before using
	// TempDir; 0 means DefaultSpoolMemory, negative means always use files.
	SpoolMemory int64
	// AllowOrigin is the Access-Control-Allow-Origin value; "" means "*".
	AllowOrigin string
	// Logger receives one line per request (and per failed entry at debug level); nil means
	// slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.Presigner == nil || c.Postsigner == nil {
		return errors.New("batch: Config.Presigner and Config.Postsigner are required")
	}
	if c.MaxDocSize <= 0 {
		c.MaxDocSize = DefaultMaxDocSize
	}
	if c.Documents == nil {
		c.Documents = docmanager.Inline{MaxSize: c.MaxDocSize}
	}
	if c.MaxDocuments == 0 {
		c.MaxDocuments = DefaultMaxDocuments
	}
	if c.MaxBatchSize <= 0 {
		c.MaxBatchSize = DefaultMaxBatchSize
	}
	if c.MaxBodySize <= 0 {
		c.MaxBodySize = DefaultMaxBodySize
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	if c.SpoolMemory == 0 {
		c.SpoolMemory = DefaultSpoolMemory
	}
	if c.AllowOrigin == "" {
		c.AllowOrigin = "*"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
