package batch

import (
	"context"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/docmanager"
)

// Saver stores the signature of one batch entry: the reference's SignSaver. A Saver instance
// serves one entry of one batch run: Rollback undoes what the same instance's Save did.
// Implementations must not keep signature after Save returns.
type Saver interface {
	// Save stores signature (written out with its WriteTo: a PAdES signature is the entry's
	// document followed by its incremental update, never copied into one buffer). On error
	// nothing must be left behind.
	Save(ctx context.Context, item *Item, signature trifirma.Signature) error
	// Rollback undoes a successful Save (transactional batches). Savers that cannot undo
	// return an error wrapping [ErrRollbackUnsupported].
	Rollback(ctx context.Context, item *Item) error
}

// SaverFactory configures a new [Saver] from an XML batch entry's signsaver `config` (the
// reference's init(Properties)). Configuration errors should wrap [trifirma.ErrInvalidParams].
type SaverFactory func(config trifirma.Params) (Saver, error)

// The class names of the reference's savers, as XML batches name them.
const (
	ClassSaverFile     = "es.gob.afirma.signers.batch.SignSaverFile"
	ClassSaverHTTPPost = "es.gob.afirma.signers.batch.SignSaverHttpPost"
)

// SaverRegistry maps the class names of XML batch signsavers to factories. Only registered
// classes can be used; nothing is instantiated by name otherwise. Safe for concurrent use.
type SaverRegistry struct {
	mu sync.RWMutex
	m  map[string]SaverFactory
}

// NewSaverRegistry returns an empty registry. Package batch/saver provides the file and HTTP
// POST savers under [ClassSaverFile] and [ClassSaverHTTPPost].
func NewSaverRegistry() *SaverRegistry { return &SaverRegistry{m: map[string]SaverFactory{}} }

// Register maps class to f (replacing any previous factory).
func (r *SaverRegistry) Register(class string, f SaverFactory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[strings.TrimSpace(class)] = f
}

// Classes returns the registered class names, sorted.
func (r *SaverRegistry) Classes() []string {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New configures a saver of class. An unknown class wraps [ErrInvalidBatch].
func (r *SaverRegistry) New(class string, config trifirma.Params) (Saver, error) {
	var f SaverFactory
	if r != nil {
		r.mu.RLock()
		f = r.m[strings.TrimSpace(class)]
		r.mu.RUnlock()
	}
	if f == nil {
		return nil, fmt.Errorf("%w: signsaver class %q is not available on this server", ErrInvalidBatch, class)
	}
	s, err := f(config.Clone())
	if err != nil {
		return nil, fmt.Errorf("%w: signsaver %s: %w", ErrInvalidBatch, class, err)
	}
	if s == nil {
		return nil, fmt.Errorf("%w: signsaver %s: the factory returned no saver", ErrInvalidBatch, class)
	}
	return s, nil
}

// managerSaver stores through a document manager (the JSON batch): StoreDocument (or
// docmanager.SignatureStorer's StoreSignature) with the
// entry's datareference and parameters plus "format", Rollback through docmanager.Rollbacker.
type managerSaver struct {
	m     docmanager.Manager
	chain []*x509.Certificate
	// src are the entry's (or the batch's) parameters, not copied: the manager's parameters
	// are derived from them when needed (a batch does not hold a copy per entry meanwhile).
	src    trifirma.Params
	format trifirma.Format
	newID  string
}

// params are the manager's parameters of item: the request's plus "format".
func (s *managerSaver) params(item *Item) trifirma.Params {
	p := entryParams(s.src, item.ID)
	if _, ok := p["format"]; !ok {
		p["format"] = string(s.format)
	}
	return p
}

func (s *managerSaver) Save(ctx context.Context, item *Item, signature trifirma.Signature) error {
	id, err := docmanager.StoreSignature(ctx, s.m, item.Source.Value, s.chain, signature, s.params(item))
	if err != nil {
		return err
	}
	s.newID = id
	return nil
}

func (s *managerSaver) Rollback(ctx context.Context, item *Item) error {
	rb, ok := s.m.(docmanager.Rollbacker)
	if !ok {
		return fmt.Errorf("%w: the document manager %T has no rollback", ErrRollbackUnsupported, s.m)
	}
	return rb.Rollback(ctx, item.Source.Value, s.chain, s.params(item))
}
