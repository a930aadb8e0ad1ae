package relay

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NewStorageService returns the StorageService handler (the reference's
// afirma-signature-storage/StorageService): "op=put" stores "dat" under "id" in store for
// cfg.Expiry; "op=check" with GET answers "OK\n". GET reads the query string; every other method
// reads the raw body as the reference does (split on '&' and '=', only dat URL-decoded). Answers
// are always HTTP 200 with "OK" or an "ERR-NN:=text\n" line. See the package documentation for
// the exact checks and for the two cases stored as an error text.
func NewStorageService(store Store, cfg Config) http.Handler {
	return &storageService{store: store, cfg: cfg.withDefaults()}
}

// NewRetrieveService returns the RetrieveService handler (the reference's
// afirma-signature-retriever/RetrieveService): "op=get" answers the entry stored under "id"
// followed by a line feed and deletes it; a missing, expired or already read entry answers
// ERR-06. "op=check" answers "OK\n". Parameters come from the query string and, for POST, from an
// application/x-www-form-urlencoded body (query first).
func NewRetrieveService(store Store, cfg Config) http.Handler {
	return &retrieveService{store: store, cfg: cfg.withDefaults()}
}

type storageService struct {
	store Store
	cfg   Config
}

type retrieveService struct {
	store Store
	cfg   Config
}

// rawBodyLimit bounds how much of a StorageService body is read: enough for a percent-encoded
// payload at the size cap plus the other parameters.
func (s *storageService) rawBodyLimit() int64 { return 3*s.cfg.MaxSize + 64<<10 }

func (s *storageService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setHeaders(w)
	var p params
	if r.Method == http.MethodGet {
		parseServletForm(&p, r.URL.RawQuery, true)
		if p.hasOp && p.op == "check" {
			_, _ = w.Write(bodyOKLine)
			return
		}
		if p.hasDat && len(p.dat) > 0 {
			// The servlet decoded the query once; the reference URL-decodes dat a second time.
			dat, err := formUnescapeBytes(p.dat)
			if err != nil {
				p.dat, p.datMalformed = nil, true
			} else if int64(len(dat)) > s.cfg.MaxSize {
				p.dat, p.datTooLarge = nil, true
			} else {
				p.dat = dat
			}
		}
	} else {
		if err := parseRawForm(&p, r.Body, s.cfg.MaxSize, s.rawBodyLimit(), r.ContentLength); err != nil {
			s.log(r.Context(), slog.LevelWarn, "relay put: reading the request body failed", "err", err)
			writeError(w, CodeInvalidData)
			return
		}
	}
	switch {
	case !p.hasOp:
		writeError(w, CodeMissingOperation)
		return
	case !p.hasV:
		writeError(w, CodeMissingSyntaxVersn)
		return
	case !strings.EqualFold(p.op, "put"):
		writeError(w, CodeUnsupportedOp)
		return
	case !p.hasID:
		writeError(w, CodeMissingID)
		return
	case p.idTooLong || !ValidID(p.id):
		s.log(r.Context(), slog.LevelWarn, "relay put: invalid id", "id", shortID(p.id))
		writeError(w, CodeInvalidID)
		return
	}
	data := p.dat
	switch {
	case p.datMalformed:
		// The reference fails with an exception (HTTP 500) and stores nothing.
		s.log(r.Context(), slog.LevelWarn, "relay put: malformed percent-encoding in dat", "id", shortID(p.id))
		writeError(w, CodeInvalidData)
		return
	case p.datTooLarge:
		s.log(r.Context(), slog.LevelWarn, "relay put: payload larger than the size cap; storing ERR-07 for the reader",
			"id", shortID(p.id), "max_bytes", s.cfg.MaxSize)
		data = storedTooLarge
	case !p.hasDat || len(p.dat) == 0:
		s.log(r.Context(), slog.LevelWarn, "relay put: no data; storing ERR-02 for the reader", "id", shortID(p.id))
		data = storedMissingData
	}
	debug := s.cfg.Logger.Enabled(r.Context(), slog.LevelDebug)
	var start time.Time
	if debug {
		start = s.cfg.Now()
	}
	if err := s.store.Put(r.Context(), p.id, data, s.cfg.Expiry); err != nil {
		s.log(r.Context(), slog.LevelError, "relay put: store failed", "id", shortID(p.id), "err", err)
		writeError(w, CodeStoreFailed)
		return
	}
	if debug {
		s.log(r.Context(), slog.LevelDebug, "relay put", "id", shortID(p.id), "bytes", len(data),
			"dur", s.cfg.Now().Sub(start))
	}
	_, _ = w.Write(bodyOK)
}

func (s *storageService) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if s.cfg.Logger.Enabled(ctx, level) {
		s.cfg.Logger.Log(ctx, level, msg, args...)
	}
}

func (s *retrieveService) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if s.cfg.Logger.Enabled(ctx, level) {
		s.cfg.Logger.Log(ctx, level, msg, args...)
	}
}

func (s *retrieveService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		// The reference would consume the entry and drop the body; refuse instead.
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	setHeaders(w)
	var p params
	parseServletForm(&p, r.URL.RawQuery, false)
	if r.Method == http.MethodPost && isFormBody(r) {
		buf := smallBodyPool.Get().(*[]byte)
		body, err := readSmallBody(r.Body, (*buf)[:0])
		if err != nil {
			s.log(r.Context(), slog.LevelWarn, "relay get: reading the request body failed", "err", err)
		} else if body != nil {
			parseServletForm(&p, string(body), false)
		}
		*buf = body[:0]
		smallBodyPool.Put(buf)
	}
	switch {
	case !p.hasOp:
		writeError(w, CodeMissingOperation)
		return
	case p.op == "check":
		_, _ = w.Write(bodyOKLine)
		return
	case !p.hasV:
		writeError(w, CodeMissingSyntaxVersn)
		return
	case !strings.EqualFold(p.op, "get"):
		writeError(w, CodeUnsupportedOp)
		return
	case !p.hasID:
		writeError(w, CodeMissingID)
		return
	case p.idTooLong || !ValidID(p.id):
		s.log(r.Context(), slog.LevelWarn, "relay get: invalid id", "id", shortID(p.id))
		writeError(w, CodeInvalidID)
		return
	}
	debug := s.cfg.Logger.Enabled(r.Context(), slog.LevelDebug)
	var start time.Time
	if debug {
		start = s.cfg.Now()
	}
	data, err := s.store.GetAndDelete(r.Context(), p.id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			if debug {
				s.log(r.Context(), slog.LevelDebug, "relay get: no entry", "id", shortID(p.id))
			}
			writeError(w, CodeInvalidID)
			return
		}
		s.log(r.Context(), slog.LevelError, "relay get: store failed", "id", shortID(p.id), "err", err)
		writeError(w, CodeInvalidData)
		return
	}
	if debug {
		s.log(r.Context(), slog.LevelDebug, "relay get", "id", shortID(p.id), "bytes", len(data),
			"dur", s.cfg.Now().Sub(start))
	}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(data) + 1)}
	_, _ = w.Write(data)
	_, _ = w.Write(lineFeed)
}

func isFormBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return false
	}
	if strings.HasPrefix(ct, "application/x-www-form-urlencoded") && (len(ct) == 33 || ct[33] == ';') {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

var smallBodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// readSmallBody reads a form body of at most maxFormBody bytes into buf; a larger body is
// ignored (nil, like a servlet container's maxPostSize), which leaves only the query parameters.
func readSmallBody(body io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			if len(buf) > maxFormBody {
				return nil, nil
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if len(buf) > maxFormBody {
				return nil, nil
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// shortID shortens an id for logs: anyone holding a full id can read its entry.
func shortID(id string) string {
	if len(id) > 6 {
		id = id[:6] + "…"
	}
	return strconv.Quote(id)
}
