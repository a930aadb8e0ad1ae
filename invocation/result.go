package invocation

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/invocation/cipher"
)

var (
	// ErrNotReady is the intermediate server's "err-06" answer: nothing stored under the id yet
	// (or already read, or expired). [Client.Wait] keeps polling.
	ErrNotReady = errors.New("invocation: no result stored yet")
	// ErrInProgress is the "#WAIT" marker AutoFirma stores while it works (active waiting).
	// [Client.Wait] keeps polling and restarts its patience.
	ErrInProgress = errors.New("invocation: the app is still working")
	// ErrCancelled reports that the user cancelled the operation ("CANCEL", or an err-11 error).
	ErrCancelled = errors.New("invocation: operation cancelled by the user")
	// ErrTimeout reports that no result (nor "#WAIT") arrived within the patience of
	// [PollOptions].
	ErrTimeout = errors.New("invocation: no result from the app in time")
	// ErrMalformedResult reports a result that does not have the form of its operation.
	ErrMalformedResult = errors.New("invocation: malformed result")
)

// ResultError is an error the app (or the intermediate server) stored instead of a result:
// "err-NN:=message" (Code "ERR-NN"; an 8-character app error code before " - " in the message is
// split into AppCode) or "SAF_NN..." (Code "SAF_NN", the whole text in Message). err-11 is a
// cancellation: errors.Is(err, ErrCancelled) is true for it.
type ResultError struct {
	// Code is "ERR-NN" (upper-cased) or "SAF_NN".
	Code string
	// AppCode is the app's 8-character error code, when the message starts with one.
	AppCode string
	// Message is the error text.
	Message string
}

// Error implements error.
func (e *ResultError) Error() string {
	if e.AppCode != "" {
		return fmt.Sprintf("invocation: %s: %s - %s", e.Code, e.AppCode, e.Message)
	}
	return fmt.Sprintf("invocation: %s: %s", e.Code, e.Message)
}

// Is reports whether target is ErrCancelled and the code is ERR-11.
func (e *ResultError) Is(target error) bool {
	return target == ErrCancelled && e.Code == "ERR-11"
}

// Result is a decoded operation result.
type Result struct {
	// Op is the operation the result belongs to.
	Op Operation
	// Raw is the text read from the intermediate server, trailing line terminators removed.
	Raw string
	// Certificate is the signing or selected certificate (DER): sign family, selectcert, and
	// batch when the app returned it.
	Certificate []byte
	// Signature is the signature (sign, cosign, countersign, signandsave).
	Signature []byte
	// Extra is the third field of a signature result: the extra-data JSON of protocol 3 and
	// later, or the name of the file the user chose (older AutoFirma).
	Extra []byte
	// ExtraData is Extra parsed, when it is a JSON object of strings.
	ExtraData map[string]string
	// BatchResult is the batch result document (JSON or XML).
	BatchResult []byte
	// Data are the loaded files (load) or the log text (getlog).
	Data [][]byte
}

// ParseResult interprets the text an app stored for op, deciphering each '|'-separated field
// with c (nil when the invocation had no key; the fields are then Base64). It returns
// [ErrNotReady], [ErrInProgress], [ErrCancelled] (possibly as a [*ResultError]) or a
// [*ResultError] for the non-result answers, in the reference page's order.
func ParseResult(op Operation, text string, c cipher.Cipher) (*Result, error) {
	text = strings.TrimRight(text, "\r\n")
	switch {
	case hasPrefixFold(text, "err-06"):
		return nil, ErrNotReady
	case hasPrefixFold(text, "#wait"):
		return nil, ErrInProgress
	case hasPrefixFold(text, "err-") && strings.Contains(text, ":="):
		i := strings.Index(text, ":=")
		e := &ResultError{Code: strings.ToUpper(text[:i]), Message: text[i+2:]}
		if code, msg, ok := strings.Cut(e.Message, " - "); ok && len(code) == 8 {
			e.AppCode, e.Message = code, msg
		}
		return nil, e
	case text == "CANCEL":
		return nil, ErrCancelled
	case len(text) > 4 && strings.HasPrefix(text, "SAF_"):
		code, _, _ := strings.Cut(text, ":")
		return nil, &ResultError{Code: strings.TrimSpace(code), Message: text}
	}
	r := &Result{Op: op, Raw: text}
	if text == "OK" {
		return r, nil
	}
	parts := strings.Split(text, "|")
	fields := make([][]byte, len(parts))
	for i, p := range parts {
		f, err := decodeField(p, c)
		if err != nil {
			return nil, fmt.Errorf("%w: field %d of %d: %w", ErrMalformedResult, i+1, len(parts), err)
		}
		fields[i] = f
	}
	switch op.kind() {
	case OpSign, OpCosign, OpCountersign, OpSignAndSave:
		switch len(fields) {
		case 1:
			r.Signature = fields[0]
		default:
			r.Certificate, r.Signature = fields[0], fields[1]
			if len(fields) > 2 {
				r.Extra = fields[2]
				var m map[string]string
				if json.Unmarshal(r.Extra, &m) == nil {
					r.ExtraData = m
				}
			}
		}
	case OpBatch:
		r.BatchResult = fields[0]
		if len(fields) > 1 {
			r.Certificate = fields[1]
		}
	case OpSelectCert:
		if len(fields) != 1 {
			return nil, fmt.Errorf("%w: certificate selection returned %d fields", ErrMalformedResult, len(fields))
		}
		r.Certificate = fields[0]
	default:
		r.Data = fields
	}
	return r, nil
}

// decodeField deciphers or Base64-decodes one result field. Without a key the batch result is
// standard Base64 and the reference StorageService URL-decodes it, turning '+' into ' '; spaces
// are turned back into '+' before decoding.
func decodeField(f string, c cipher.Cipher) ([]byte, error) {
	if c != nil {
		return c.Decrypt(f)
	}
	return b64.DecodeString(strings.ReplaceAll(f, " ", "+"))
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
