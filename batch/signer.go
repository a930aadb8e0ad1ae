package batch

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/b64"
)

// ParamTDFormat is a batch-private firma parameter: when an engine gives an entry's session a
// format attribute (which the seal binds), the batch records it here, because neither wire
// carries a per-entry format back (the JSON client flattens the sessions under the batch's
// format, the XML reply has one <firmas>). It is removed before the seal is opened, which then
// authenticates it like everything else.
const ParamTDFormat = "TRIFIRMA_TD_FORMAT"

// descNoFirma is the reference's description of an entry whose firmas are missing from the
// signed session.
const descNoFirma = "Error en la prefirma"

// Signer runs batches: the Go API behind the batch handlers. It is safe for concurrent use.
type Signer struct {
	cfg Config
	log *slog.Logger
}

// New returns a Signer for cfg.
func New(cfg Config) (*Signer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	return &Signer{cfg: cfg, log: cfg.Logger}, nil
}

// Config returns the effective configuration (with defaults applied).
func (s *Signer) Config() Config { return s.cfg }

// prepare validates b against the limits and composes its algorithm with the signer's key.
func (s *Signer) prepare(b *Batch, chain []*x509.Certificate) (trifirma.SignatureAlgorithm, error) {
	var zero trifirma.SignatureAlgorithm
	if b == nil || len(b.Items) == 0 {
		return zero, fmt.Errorf("%w: the batch has no entries", ErrInvalidBatch)
	}
	if s.cfg.MaxDocuments > 0 && len(b.Items) > s.cfg.MaxDocuments {
		return zero, fmt.Errorf("%w: %d entries, the maximum is %d", ErrLimits, len(b.Items), s.cfg.MaxDocuments)
	}
	if len(chain) == 0 || chain[0] == nil {
		return zero, fmt.Errorf("%w: no signer certificate", trifirma.ErrInvalidCertificate)
	}
	seen := make(map[string]bool, len(b.Items))
	for i, it := range b.Items {
		if it == nil || it.ID == "" {
			return zero, fmt.Errorf("%w: entry %d has no id", ErrInvalidBatch, i)
		}
		if seen[it.ID] {
			return zero, fmt.Errorf("%w: duplicate entry id %q", ErrInvalidBatch, it.ID)
		}
		seen[it.ID] = true
		if it.Result != "" {
			continue
		}
		if s.cfg.MaxReferenceSize > 0 && len(it.Source.Value) > s.cfg.MaxReferenceSize {
			return zero, fmt.Errorf("%w: the data reference of entry %q has %d characters, the maximum is %d",
				ErrLimits, it.ID, len(it.Source.Value), s.cfg.MaxReferenceSize)
		}
		if it.Saver == nil && it.SaverSpec != nil {
			// Configure (and discard) the saver now, so a bad saver is reported before the
			// user signs anything.
			if _, err := s.cfg.Savers.New(it.SaverSpec.Class, it.SaverSpec.Config); err != nil {
				return zero, fmt.Errorf("entry %q: %w", it.ID, err)
			}
		}
	}
	return BatchAlgorithm(b.Algorithm, chain[0])
}

// BatchAlgorithm composes a batch's algorithm name with the signer certificate's key type. It
// accepts every name the single-signature service accepts plus the reference's misspelt
// SHA284withECDSA (read as SHA384withECDSA). A missing name wraps [ErrInvalidBatch]; MD5 and
// unknown names wrap [trifirma.ErrUnsupportedAlgorithm].
func BatchAlgorithm(name string, signer *x509.Certificate) (trifirma.SignatureAlgorithm, error) {
	n := strings.TrimSpace(name)
	if n == "" {
		return trifirma.SignatureAlgorithm{}, fmt.Errorf("%w: the batch has no algorithm", ErrInvalidBatch)
	}
	if strings.EqualFold(n, "SHA284withECDSA") {
		n = "SHA384withECDSA"
	}
	return trifirma.ComposeAlgorithm(n, signer.PublicKey)
}

// phase returns the context of one phase: the caller's, bounded by the configured and the
// batch's timeouts.
func (s *Signer) phase(ctx context.Context, b *Batch) (context.Context, context.CancelFunc, time.Duration) {
	d := s.cfg.Timeout
	if b.ConcurrentTimeout > 0 && b.ConcurrentTimeout < d {
		d = b.ConcurrentTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	return ctx, cancel, d
}

// run calls fn for each index of idx with at most Concurrency calls at once, and stops
// starting new calls when ctx is done. It returns which indices were started. The calls run
// on a pool of long-lived workers (a goroutine per entry would grow a new stack for every
// signature).
func (s *Signer) run(ctx context.Context, idx []int, fn func(ctx context.Context, i int)) []bool {
	started := make([]bool, len(idx))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(s.cfg.Concurrency, len(idx)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(idx) || ctx.Err() != nil {
					return
				}
				started[k] = true
				fn(ctx, idx[k])
			}
		})
	}
	wg.Wait()
	return started
}

// request builds the trifirma request of an entry (resolving its document) exactly as both
// phases must see it: format and operation with the batch defaults, the entry's (or the
// batch's) extra parameters with the same server-side normalisation as the single-signature
// service (validatePkcs1 removed, headless=true) plus SignatureId=<entry id>.
func (s *Signer) request(ctx context.Context, b *Batch, it *Item, chain []*x509.Certificate, alg trifirma.SignatureAlgorithm) (*trifirma.Request, error) {
	format := it.Format
	if format == "" {
		format = b.Format
	}
	if format == "" {
		return nil, fmt.Errorf("%w: the entry has no format and the batch has no default format", trifirma.ErrUnsupportedFormat)
	}
	op := it.Operation
	if op == "" {
		op = b.Operation
	}
	if op == "" {
		op = trifirma.OpSign
	}
	src := it.Params
	if src == nil {
		src = b.Params
	}
	params := entryParams(src, it.ID)
	doc, err := s.resolve(ctx, it, chain, params)
	if err != nil {
		return nil, err
	}
	return &trifirma.Request{Operation: op, Format: format, Document: doc, Chain: chain, Algorithm: alg, Params: params}, nil
}

// entryParams are an entry's request parameters: a copy of src (the entry's or the batch's)
// with the single-signature service's normalisation (validatePkcs1 removed, headless=true)
// and SignatureId=<entry id>.
func entryParams(src trifirma.Params, id string) trifirma.Params {
	p := src.Clone()
	delete(p, "validatePkcs1")
	p["headless"] = "true"
	p["SignatureId"] = id
	return p
}

// resolve obtains an entry's document.
func (s *Signer) resolve(ctx context.Context, it *Item, chain []*x509.Certificate, params trifirma.Params) ([]byte, error) {
	max := s.cfg.MaxDocSize
	v := it.Source.Value
	var doc []byte
	var err error
	switch it.Source.Kind {
	case SourceReference:
		doc, err = s.cfg.Documents.GetDocument(ctx, v, chain, params)
		if err != nil {
			return nil, fmt.Errorf("the document could not be retrieved: %w", err)
		}
	case SourceBase64:
		if int64(base64.StdEncoding.DecodedLen(len(strings.TrimSpace(v)))) > max+3 {
			return nil, fmt.Errorf("%w: the document is larger than %d bytes", trifirma.ErrTooLarge, max)
		}
		doc, err = b64.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("%w: the data source is not valid Base64", trifirma.ErrInvalidDocument)
		}
	case SourceText:
		if s.cfg.DisableText {
			return nil, fmt.Errorf("%w: plain-text data sources are disabled on this server", ErrSourceNotAllowed)
		}
		doc = []byte(v)
	case SourceURL:
		if l := strings.ToLower(strings.TrimSpace(v)); !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
			return nil, fmt.Errorf("%w: only http and https URLs can be data sources", ErrSourceNotAllowed)
		}
		if s.cfg.Fetcher == nil {
			return nil, fmt.Errorf("%w: this server does not download URL data sources", ErrSourceNotAllowed)
		}
		doc, err = s.cfg.Fetcher.Get(ctx, strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("the document could not be downloaded: %w", err)
		}
	default:
		return nil, fmt.Errorf("%w: unknown data source kind %v", ErrSourceNotAllowed, it.Source.Kind)
	}
	if int64(len(doc)) > max {
		return nil, fmt.Errorf("%w: the document has %d bytes, the maximum is %d", trifirma.ErrTooLarge, len(doc), max)
	}
	return doc, nil
}

// failure records the first real failure of a stop-on-error phase (not the entries that
// failed only because the phase was then cancelled).
type failure struct {
	mu    sync.Mutex
	index int
	set   bool
}

func (f *failure) record(i int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.set {
		return false
	}
	f.index, f.set = i, true
	return true
}

func (f *failure) get() (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.index, f.set
}

// describe renders an entry error for the result (one line).
func describe(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func timeoutDesc(d time.Duration) string {
	return fmt.Sprintf("the batch time limit (%s) was reached before this entry was completed", d)
}

// Presign runs the presign phase of b for the signer certificate chain (signer first): every
// entry's document is resolved and presigned through Config.Presigner, concurrently. Entry
// failures are reported in the result; an error is returned only for whole-batch problems
// (invalid batch, limits, algorithm, certificate) or when ctx is cancelled.
func (s *Signer) Presign(ctx context.Context, b *Batch, chain []*x509.Certificate) (*Presigned, error) {
	alg, err := s.prepare(b, chain)
	if err != nil {
		return nil, err
	}
	ids := make(map[string]bool, len(b.Items))
	var todo []int
	for i, it := range b.Items {
		ids[it.ID] = true
		if it.Result == "" {
			todo = append(todo, i)
		}
	}
	pctx, cancel, limit := s.phase(ctx, b)
	defer cancel()
	n := len(b.Items)
	sessions := make([]*trifirma.TriphaseData, n)
	errs := make([]error, n)
	var first failure
	started := s.run(pctx, todo, func(ctx context.Context, i int) {
		td, err := s.presignItem(ctx, b, b.Items[i], chain, alg, ids)
		if err != nil {
			errs[i] = err
			if ctx.Err() == nil && b.StopOnError && first.record(i) {
				cancel()
			}
			return
		}
		sessions[i] = td
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for k, i := range todo {
		if !started[k] || (errs[i] == nil && sessions[i] == nil) {
			errs[i] = errors.New(timeoutDesc(limit))
		} else if errs[i] != nil && pctx.Err() != nil && errors.Is(errs[i], context.DeadlineExceeded) {
			errs[i] = fmt.Errorf("%s: %w", timeoutDesc(limit), errs[i])
		}
	}
	p := &Presigned{}
	if b.StopOnError {
		fi, failed := first.get()
		if !failed {
			// A timeout is a failure too; the first entry that did not finish is its cause.
			for _, i := range todo {
				if errs[i] != nil {
					fi, failed = i, true
					break
				}
			}
		}
		if failed {
			for _, i := range todo {
				if i == fi {
					p.Failures = append(p.Failures, Result{ID: b.Items[i].ID, Code: ErrorPre, Description: describe(errs[i])})
				} else {
					p.Failures = append(p.Failures, Result{ID: b.Items[i].ID, Code: Skipped})
				}
			}
			s.log.Debug("batch presign stopped", "entry", b.Items[fi].ID, "err", errs[fi])
			return p, nil
		}
	}
	for _, i := range todo {
		it := b.Items[i]
		if errs[i] != nil {
			s.log.Debug("batch entry presign failed", "entry", it.ID, "err", errs[i])
			p.Failures = append(p.Failures, Result{ID: it.ID, Code: ErrorPre, Description: describe(errs[i])})
			continue
		}
		p.Sessions = append(p.Sessions, ItemSession{ID: it.ID, Session: sessions[i]})
		if p.Format == "" {
			if b.Format != "" {
				p.Format = string(b.Format)
			} else {
				p.Format = string(it.Format)
			}
		}
	}
	return p, nil
}

func (s *Signer) presignItem(ctx context.Context, b *Batch, it *Item, chain []*x509.Certificate, alg trifirma.SignatureAlgorithm, ids map[string]bool) (*trifirma.TriphaseData, error) {
	req, err := s.request(ctx, b, it, chain, alg)
	if err != nil {
		return nil, err
	}
	td, err := s.cfg.Presigner.Presign(ctx, req)
	req.Document = nil
	if err != nil {
		return nil, err
	}
	// Every firma must be found again by the entry's id, and by no other entry's id.
	for _, sd := range td.Signs {
		if sd.ID != it.ID && sd.SignID != it.ID {
			return nil, fmt.Errorf("%w: the %s engine returned a firma (Id %q) that does not carry the entry id", trifirma.ErrInvalidSession, req.Format, sd.ID)
		}
		for _, v := range []string{sd.ID, sd.SignID} {
			if v != "" && v != it.ID && ids[v] {
				return nil, fmt.Errorf("%w: a firma of this entry has the id of entry %q", ErrInvalidBatch, v)
			}
		}
	}
	if td.Format != "" {
		td.Signs[0].Set(ParamTDFormat, td.Format)
		td.Format = ""
	}
	return td, nil
}

// groupSession indexes the firmas of a signed session by Id and by signid.
func groupSession(td *trifirma.TriphaseData) map[string][]*trifirma.SignData {
	m := make(map[string][]*trifirma.SignData)
	if td == nil {
		return m
	}
	for _, sd := range td.Signs {
		if sd == nil {
			continue
		}
		m[sd.ID] = append(m[sd.ID], sd)
		if sd.SignID != "" && sd.SignID != sd.ID {
			m[sd.SignID] = append(m[sd.SignID], sd)
		}
	}
	return m
}

// itemSession copies an entry's firmas into a session of its own, restoring its format.
func itemSession(group []*trifirma.SignData) *trifirma.TriphaseData {
	td := &trifirma.TriphaseData{Signs: make([]*trifirma.SignData, len(group))}
	for k, sd := range group {
		c := &trifirma.SignData{ID: sd.ID, SignID: sd.SignID, Params: append([]trifirma.Param(nil), sd.Params...)}
		if k == 0 {
			if v, ok := c.Get(ParamTDFormat); ok {
				td.Format = v
				c.Delete(ParamTDFormat)
			}
		}
		td.Signs[k] = c
	}
	return td
}

// postItem assembles one entry's signature (which may refer to the entry's document).
func (s *Signer) postItem(ctx context.Context, b *Batch, it *Item, chain []*x509.Certificate, alg trifirma.SignatureAlgorithm, group []*trifirma.SignData) (trifirma.Signature, error) {
	req, err := s.request(ctx, b, it, chain, alg)
	if err != nil {
		return nil, err
	}
	return s.cfg.Postsigner.PostsignStream(ctx, req, itemSession(group))
}

// saverFor returns the saver of an entry, or nil when nothing is configured to save it.
func (s *Signer) saverFor(b *Batch, it *Item, chain []*x509.Certificate, useManager bool) (Saver, error) {
	if it.Saver != nil {
		return it.Saver, nil
	}
	if it.SaverSpec != nil {
		return s.cfg.Savers.New(it.SaverSpec.Class, it.SaverSpec.Config)
	}
	if !useManager {
		return nil, nil
	}
	format := it.Format
	if format == "" {
		format = b.Format
	}
	src := it.Params
	if src == nil {
		src = b.Params
	}
	return &managerSaver{m: s.cfg.Documents, chain: chain, src: src, format: format}, nil
}

// PostsignOptions tune [Signer.PostsignWith].
type PostsignOptions struct {
	// NoManager leaves entries without Saver or SaverSpec unsaved (DoneButNotSavedYet, with
	// the signature in the result) instead of storing them with Config.Documents.
	NoManager bool
	// DropNewIDs does not keep the identifiers returned by the document manager (the
	// handlers do not send them; with docmanager.Inline they are the signatures themselves).
	DropNewIDs bool
}

// Postsign runs the postsign phase of b: the entries' firmas are taken from session (the
// session the device signed, with a PK1 in every firma), each entry is postsigned through
// Config.Postsigner and saved by its saver (Item.Saver, its SaverSpec through Config.Savers,
// or Config.Documents). With StopOnError the batch is transactional (see the package
// documentation). It returns one result per entry, in batch order; an error only for
// whole-batch problems or when ctx is cancelled (transactional saves already made are then
// rolled back).
func (s *Signer) Postsign(ctx context.Context, b *Batch, chain []*x509.Certificate, session *trifirma.TriphaseData) ([]Result, error) {
	return s.PostsignWith(ctx, b, chain, session, PostsignOptions{})
}

// PostsignWith is [Signer.Postsign] with options.
func (s *Signer) PostsignWith(ctx context.Context, b *Batch, chain []*x509.Certificate, session *trifirma.TriphaseData, o PostsignOptions) ([]Result, error) {
	alg, err := s.prepare(b, chain)
	if err != nil {
		return nil, err
	}
	n := len(b.Items)
	res := make([]Result, n)
	savers := make([]Saver, n)
	groups := groupSession(session)
	var todo []int
	stopAt := -1
	for i, it := range b.Items {
		res[i].ID = it.ID
		if it.Result != "" {
			res[i].Code, res[i].Description = it.Result, it.Description
			if !it.Result.Done() && stopAt < 0 {
				stopAt = i
			}
			continue
		}
		if len(groups[it.ID]) == 0 {
			res[i].Code, res[i].Description = ErrorPre, descNoFirma
			if stopAt < 0 {
				stopAt = i
			}
			continue
		}
		sv, err := s.saverFor(b, it, chain, !o.NoManager)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", it.ID, err)
		}
		savers[i] = sv
		todo = append(todo, i)
	}
	if b.StopOnError {
		if stopAt >= 0 {
			// An entry failed before this phase: a transaction cannot complete.
			for i := range res {
				if i != stopAt && b.Items[i].Result == "" {
					res[i].Code, res[i].Description = Skipped, ""
				}
			}
			return res, nil
		}
		return s.transactional(ctx, b, chain, alg, groups, todo, savers, res, o)
	}
	pctx, cancel, limit := s.phase(ctx, b)
	defer cancel()
	started := s.run(pctx, todo, func(ctx context.Context, i int) {
		it := b.Items[i]
		sig, err := s.postItem(ctx, b, it, chain, alg, groups[it.ID])
		if err != nil {
			res[i].Code, res[i].Description = ErrorPost, describe(err)
			if pctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
				res[i].Description = timeoutDesc(limit)
			}
			s.log.Debug("batch entry postsign failed", "entry", it.ID, "err", err)
			return
		}
		s.save(ctx, it, savers[i], sig, &res[i], o)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for k, i := range todo {
		if !started[k] || res[i].Code == "" {
			res[i].Code, res[i].Description = ErrorPost, timeoutDesc(limit)
		}
	}
	return res, nil
}

// save stores sig with sv and records the outcome in r.
func (s *Signer) save(ctx context.Context, it *Item, sv Saver, sig trifirma.Signature, r *Result, o PostsignOptions) {
	if sv == nil {
		b, err := trifirma.SignatureBytes(sig)
		if err != nil {
			r.Code, r.Description = ErrorPost, describe(err)
			return
		}
		r.Code, r.Signature = DoneButNotSavedYet, b
		return
	}
	if err := sv.Save(ctx, it, sig); err != nil {
		r.Code, r.Description = DoneButErrorSaving, describe(fmt.Errorf("the signature could not be saved: %w", err))
		s.log.Debug("batch entry save failed", "entry", it.ID, "err", err)
		return
	}
	r.Code = DoneAndSaved
	if ms, ok := sv.(*managerSaver); ok && !o.DropNewIDs {
		r.NewID = ms.newID
	}
}

// transactional is the seed's transactional mode: every signature is generated first; if all
// succeed they are saved in any order, and a failed save rolls back every completed save.
func (s *Signer) transactional(ctx context.Context, b *Batch, chain []*x509.Certificate, alg trifirma.SignatureAlgorithm,
	groups map[string][]*trifirma.SignData, todo []int, savers []Saver, res []Result, o PostsignOptions) ([]Result, error) {
	budget := s.cfg.SpoolMemory
	if budget < 0 {
		budget = 0
	}
	sp := newSpool(s.cfg.TempDir, budget)
	defer sp.release()
	n := len(b.Items)
	held := make([]spooled, n)
	errs := make([]error, n)
	done := make([]bool, n)

	// 1. Generate every signature.
	pctx, cancel, limit := s.phase(ctx, b)
	var first failure
	started := s.run(pctx, todo, func(ctx context.Context, i int) {
		it := b.Items[i]
		sig, err := s.postItem(ctx, b, it, chain, alg, groups[it.ID])
		if err == nil {
			held[i], err = sp.put(sig)
		}
		if err != nil {
			errs[i] = err
			if ctx.Err() == nil && first.record(i) {
				cancel()
			}
			return
		}
		done[i] = true
	})
	timedOut := pctx.Err() != nil
	cancel()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fi, failed := first.get()
	if !failed {
		for k, i := range todo {
			if !started[k] || !done[i] {
				fi, failed = i, true
				if errs[i] == nil || (timedOut && errors.Is(errs[i], context.DeadlineExceeded)) {
					errs[i] = errors.New(timeoutDesc(limit))
				}
				break
			}
		}
	}
	if failed {
		for _, i := range todo {
			switch {
			case i == fi:
				res[i].Code, res[i].Description = ErrorPost, describe(errs[i])
			case done[i]:
				res[i].Code, res[i].Description = DoneButSavedSkipped, "not saved: entry "+b.Items[fi].ID+" failed"
			default:
				res[i].Code = Skipped
			}
		}
		s.log.Debug("transactional batch stopped before saving", "entry", b.Items[fi].ID, "err", errs[fi])
		return res, nil
	}

	// 2. Save them all; the first failure stops the saving.
	sctx, scancel, limit := s.phase(ctx, b)
	defer scancel()
	saved := make([]bool, n)
	var firstSave failure
	saveErrs := make([]error, n)
	startedSave := s.run(sctx, todo, func(ctx context.Context, i int) {
		it := b.Items[i]
		sig, err := sp.get(held[i])
		if err == nil {
			if savers[i] == nil {
				var b []byte
				if b, err = trifirma.SignatureBytes(sig); err == nil {
					res[i].Code, res[i].Signature = DoneButNotSavedYet, b
				}
			} else {
				err = savers[i].Save(ctx, it, sig)
			}
		}
		sp.drop(held[i])
		held[i] = spooled{}
		if err != nil {
			saveErrs[i] = err
			if ctx.Err() == nil && firstSave.record(i) {
				scancel()
			}
			return
		}
		saved[i] = true
	})
	cancelled := ctx.Err() != nil
	sfi, saveFailed := firstSave.get()
	if !saveFailed && !cancelled {
		for k, i := range todo {
			if !startedSave[k] || !saved[i] {
				sfi, saveFailed = i, true
				if saveErrs[i] == nil || errors.Is(saveErrs[i], context.DeadlineExceeded) {
					saveErrs[i] = errors.New(timeoutDesc(limit))
				}
				break
			}
		}
	}
	if !saveFailed && !cancelled {
		for _, i := range todo {
			if res[i].Code == "" {
				res[i].Code = DoneAndSaved
				if ms, ok := savers[i].(*managerSaver); ok && !o.DropNewIDs {
					res[i].NewID = ms.newID
				}
			}
		}
		return res, nil
	}

	// 3. Roll back every completed save (also when the client went away: the transaction
	// did not complete).
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer rcancel()
	for _, i := range todo {
		it := b.Items[i]
		switch {
		case saved[i] && savers[i] != nil:
			if err := savers[i].Rollback(rctx, it); err != nil {
				res[i].Code, res[i].Description = DoneAndSaved, describe(fmt.Errorf("saved, but the save could not be undone: %w", err))
				s.log.Warn("transactional batch: rollback failed", "entry", it.ID, "err", err)
			} else {
				res[i].Code, res[i].Description = SaveRollbacked, ""
			}
		case saved[i]:
			// Unsaved (Go API) signatures are simply withheld.
			res[i].Code, res[i].Description, res[i].Signature = DoneButSavedSkipped, "", nil
		case saveErrs[i] != nil && (i == sfi || !errors.Is(saveErrs[i], context.Canceled)):
			res[i].Code, res[i].Description = DoneButErrorSaving, describe(fmt.Errorf("the signature could not be saved: %w", saveErrs[i]))
		default:
			res[i].Code, res[i].Description = DoneButSavedSkipped, ""
		}
	}
	if cancelled {
		return nil, ctx.Err()
	}
	s.log.Debug("transactional batch rolled back", "entry", b.Items[sfi].ID, "err", saveErrs[sfi])
	return res, nil
}
