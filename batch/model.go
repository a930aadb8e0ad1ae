package batch

import (
	"errors"
	"fmt"
	"time"

	"github.com/trifirma/trifirma"
)

// Whole-batch errors. The handlers answer HTTP 400 for errors wrapping [ErrInvalidBatch] or
// [ErrLimits] (the reference's "El lote de firma no cumple con los requisitos establecidos en
// servidor" for the latter) and 500 for anything else.
var (
	// ErrInvalidBatch: the batch definition or the signed session is malformed (syntax,
	// missing or duplicate ids, unknown format, suboperation, algorithm or saver class).
	ErrInvalidBatch = errors.New("batch: invalid batch")
	// ErrLimits: the batch exceeds a configured limit (documents, size, reference size). It
	// also wraps [trifirma.ErrTooLarge].
	ErrLimits = fmt.Errorf("batch: the batch exceeds the server limits: %w", trifirma.ErrTooLarge)
	// ErrDisabled: the XML batch services are disabled (HTTP 503).
	ErrDisabled = errors.New("batch: the XML batch service is disabled")
	// ErrSourceNotAllowed: a datasource mode is not enabled (URL without a Fetcher, file: or
	// ftp: URLs, plain text when disabled).
	ErrSourceNotAllowed = errors.New("batch: data source not allowed")
	// ErrRollbackUnsupported: a saver cannot undo a save (HTTP POST).
	ErrRollbackUnsupported = errors.New("batch: the saver cannot undo a save")
)

// Code is the outcome of one batch entry, as the reference's ProcessResult.Result.
type Code string

// The result codes of the reference (there is no DONE_BUT_NOT_SAVED).
const (
	// NotStarted: the entry was not processed (only in results of a Batch whose processing
	// was abandoned before reaching it; never after a complete run).
	NotStarted Code = "NOT_STARTED"
	// DoneAndSaved: signed and saved.
	DoneAndSaved Code = "DONE_AND_SAVED"
	// DoneButNotSavedYet: signed; nothing was configured to save it, so the signature is in
	// [Result.Signature] for the caller (Go API only; the handlers always save).
	DoneButNotSavedYet Code = "DONE_BUT_NOT_SAVED_YET"
	// DoneButSavedSkipped: signed, but not saved because a transactional batch was abandoned.
	DoneButSavedSkipped Code = "DONE_BUT_SAVED_SKIPPED"
	// DoneButErrorSaving: signed, but saving failed.
	DoneButErrorSaving Code = "DONE_BUT_ERROR_SAVING"
	// ErrorPre: the presign phase failed for this entry.
	ErrorPre Code = "ERROR_PRE"
	// ErrorPost: the postsign phase failed for this entry.
	ErrorPost Code = "ERROR_POST"
	// Skipped: not processed because another entry failed in a stop-on-error batch.
	Skipped Code = "SKIPPED"
	// SaveRollbacked: saved, then undone because another entry failed to save in a
	// transactional batch.
	SaveRollbacked Code = "SAVE_ROLLBACKED"
)

var knownCodes = map[Code]bool{
	NotStarted: true, DoneAndSaved: true, DoneButNotSavedYet: true, DoneButSavedSkipped: true,
	DoneButErrorSaving: true, ErrorPre: true, ErrorPost: true, Skipped: true, SaveRollbacked: true,
}

// ParseCode returns the Code named s (exactly, as Java's Enum.valueOf), or an error wrapping
// [ErrInvalidBatch].
func ParseCode(s string) (Code, error) {
	if knownCodes[Code(s)] {
		return Code(s), nil
	}
	return "", fmt.Errorf("%w: unknown result %q", ErrInvalidBatch, s)
}

// Done reports whether the entry produced a signature (saved or not).
func (c Code) Done() bool {
	switch c {
	case DoneAndSaved, DoneButNotSavedYet, DoneButSavedSkipped, DoneButErrorSaving, SaveRollbacked:
		return true
	}
	return false
}

// SourceKind says how an entry's document is obtained.
type SourceKind int

// The data source modes.
const (
	// SourceReference: a reference resolved by the configured docmanager.Manager (the JSON
	// batch's datareference; with the default manager it is the Base64 of the document).
	SourceReference SourceKind = iota
	// SourceBase64: the document itself in Base64 (either alphabet).
	SourceBase64
	// SourceText: the UTF-8 bytes of the text itself (the seed's third mode).
	SourceText
	// SourceURL: an http or https URL downloaded by the server through the configured Fetcher.
	SourceURL
)

// String names the kind.
func (k SourceKind) String() string {
	switch k {
	case SourceReference:
		return "reference"
	case SourceBase64:
		return "base64"
	case SourceText:
		return "text"
	case SourceURL:
		return "url"
	}
	return fmt.Sprintf("SourceKind(%d)", int(k))
}

// Source is where an entry's document comes from.
type Source struct {
	Kind  SourceKind
	Value string
}

// SaverSpec is an XML batch entry's signsaver: a class name looked up in a [SaverRegistry] and
// its configuration (the decoded Java properties of `config`).
type SaverSpec struct {
	Class  string
	Config trifirma.Params
}

// Item is one entry of a batch (the reference's SingleSign).
type Item struct {
	// ID identifies the entry (JSON `id`, XML `Id`); unique within the batch. It becomes the
	// SignatureId of the signature, which is how the entry's firmas are found in the session.
	ID     string
	Source Source
	// Format and Operation override the batch defaults when set.
	Format    trifirma.Format
	Operation trifirma.Operation
	// Params are the entry's extra parameters; nil means the batch's (an entry's own
	// extraparams replace the batch's, they are not merged).
	Params trifirma.Params
	// Saver, when set, stores the entry's signature (Go API). Otherwise SaverSpec is
	// instantiated from the configured registry (XML batch), and otherwise the configured
	// document manager stores it (JSON batch).
	Saver     Saver
	SaverSpec *SaverSpec
	// Result, when set, marks an entry the client already finished (a JSON batch rewritten
	// after presign errors); it is reported as is and not processed.
	Result      Code
	Description string
}

// Batch is a batch definition, decoded from either wire codec ([ParseJSON], [ParseXML]) or
// built in Go.
type Batch struct {
	// ID is the optional XML batch Id (informative).
	ID string
	// Algorithm is the signature algorithm as sent: a digest name (SHA256) or a signature
	// algorithm name (SHA256withRSA); the key half always comes from the signer certificate.
	Algorithm string
	// Format, Operation and Params are the defaults for entries that do not set their own.
	// An absent Operation means sign.
	Format    trifirma.Format
	Operation trifirma.Operation
	Params    trifirma.Params
	// StopOnError makes the batch transactional (see the package documentation).
	StopOnError bool
	// ConcurrentTimeout, when positive, bounds each phase (lowered to Config.Timeout).
	ConcurrentTimeout time.Duration
	Items             []*Item
}

// Result is the outcome of one entry.
type Result struct {
	ID          string
	Code        Code
	Description string
	// NewID is what the document manager returned when it stored the signature (JSON batch;
	// not sent on the wire, which the reference does not do either).
	NewID string
	// Signature is the signature of an entry that nothing was configured to save
	// (DoneButNotSavedYet).
	Signature []byte
}

// ItemSession is the session (sealed, with one or more firmas) of one presigned entry.
type ItemSession struct {
	ID      string
	Session *trifirma.TriphaseData
}

// Presigned is the outcome of the presign phase of a batch.
type Presigned struct {
	// Format is the `format` of the JSON reply's td: the batch's format, or the first
	// presigned entry's when the batch has none.
	Format string
	// Sessions holds the session of every presigned entry, in batch order.
	Sessions []ItemSession
	// Failures holds the entries that failed (ErrorPre) or were skipped (Skipped), in batch
	// order. Entries the client already finished are not repeated.
	Failures []Result
}

// Session returns every firma of every presigned entry in one session, as the device signs it
// (and as the XML presign reply carries it). It returns nil when nothing was presigned.
func (p *Presigned) Session() *trifirma.TriphaseData {
	if len(p.Sessions) == 0 {
		return nil
	}
	td := &trifirma.TriphaseData{}
	for _, s := range p.Sessions {
		td.Signs = append(td.Signs, s.Session.Signs...)
	}
	return td
}
