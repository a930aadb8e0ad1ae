package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/server"
)

// The paths at which the reference deploys the batch services (below
// /afirma-server-triphase-signer).
const (
	PathJSONPresign  = "/afirma-server-triphase-signer/presign"
	PathJSONPostsign = "/afirma-server-triphase-signer/postsign"
	PathXMLPresign   = "/afirma-server-triphase-signer/BatchPresigner"
	PathXMLPostsign  = "/afirma-server-triphase-signer/BatchPostsigner"
)

// The reference's texts of the whole-batch HTTP errors.
const (
	textNoJSON      = "No se ha recibido una definicion de lote en el parametro json"
	textNoXML       = "No se ha recibido una definicion de lote en el parametro xml"
	textBadBatch    = "La definicion de lote es invalida"
	textNoCerts     = "No se ha recibido la cadena de certificados del firmante en el parametro certs"
	textBadCerts    = "La cadena de certificados del firmante es invalida"
	textNoTridata   = "No se ha recibido el resultado de las firmas cliente en el parametro tridata"
	textBadTridata  = "Los datos de firma del cliente son invalidos"
	textLimits      = "El lote de firma no cumple con los requisitos establecidos en servidor"
	textPreFailed   = "Error en el preproceso del lote"
	textPostFailed  = "Error en el postproceso del lote"
	textDisabled    = "El servicio esta desactivado"
	textMalformed   = "La peticion no esta bien formada"
	textCancelled   = "La peticion se ha cancelado"
	contentJSON     = "application/json;charset=UTF-8"
	contentXML      = "text/xml;charset=UTF-8"
	paramJSON       = "json"
	paramXML        = "xml"
	paramCerts      = "certs"
	paramTridata    = "tridata"
	certSeparator   = ";"
	statusCancelled = 499 // client closed the request (never seen by the client)
)

type kind int

const (
	jsonPre kind = iota
	jsonPost
	xmlPre
	xmlPost
)

func (k kind) String() string {
	return [...]string{"json-presign", "json-postsign", "xml-presign", "xml-postsign"}[k]
}

type handler struct {
	s    *Signer
	kind kind
}

// JSONPresigner returns the JSON batch presign handler (mount at [PathJSONPresign]):
// parameters json (URL-safe Base64 batch JSON) and certs (';'-separated Base64 DER chain);
// reply {"td":..., "results":...}.
func (s *Signer) JSONPresigner() http.Handler { return &handler{s, jsonPre} }

// JSONPostsigner returns the JSON batch postsign handler (mount at [PathJSONPostsign]):
// parameters json, certs and tridata (URL-safe Base64 of the signed session JSON); reply
// {"signs":[...]}.
func (s *Signer) JSONPostsigner() http.Handler { return &handler{s, jsonPost} }

// XMLPresigner returns the XML batch presign handler (mount at [PathXMLPresign]): parameters
// xml (batch XML, URL-safe Base64 or raw) and certs; reply the session XML as text. It answers
// 503 unless Config.XMLEnabled.
func (s *Signer) XMLPresigner() http.Handler { return &handler{s, xmlPre} }

// XMLPostsigner returns the XML batch postsign handler (mount at [PathXMLPostsign]):
// parameters xml, certs and tridata (URL-safe Base64 of the signed session XML); reply
// <signs>...</signs>. It answers 503 unless Config.XMLEnabled.
func (s *Signer) XMLPostsigner() http.Handler { return &handler{s, xmlPost} }

func newHandler(cfg Config, k kind) (http.Handler, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &handler{s, k}, nil
}

// NewJSONPresigner returns the JSON presign handler of a new Signer for cfg.
func NewJSONPresigner(cfg Config) (http.Handler, error) { return newHandler(cfg, jsonPre) }

// NewJSONPostsigner returns the JSON postsign handler of a new Signer for cfg.
func NewJSONPostsigner(cfg Config) (http.Handler, error) { return newHandler(cfg, jsonPost) }

// NewXMLPresigner returns the XML presign handler of a new Signer for cfg.
func NewXMLPresigner(cfg Config) (http.Handler, error) { return newHandler(cfg, xmlPre) }

// NewXMLPostsigner returns the XML postsign handler of a new Signer for cfg.
func NewXMLPostsigner(cfg Config) (http.Handler, error) { return newHandler(cfg, xmlPost) }

// Mount registers the four batch handlers of s on mux at the reference's paths.
func (s *Signer) Mount(mux *http.ServeMux) {
	mux.Handle(PathJSONPresign, s.JSONPresigner())
	mux.Handle(PathJSONPostsign, s.JSONPostsigner())
	mux.Handle(PathXMLPresign, s.XMLPresigner())
	mux.Handle(PathXMLPostsign, s.XMLPostsigner())
}

// httpError is a whole-batch error answer.
type httpError struct {
	status int
	text   string
	err    error
}

func (e *httpError) Error() string { return e.text }

func fail(status int, text string, err error) *httpError {
	if err != nil {
		text += ": " + strings.Join(strings.Fields(err.Error()), " ")
	}
	return &httpError{status: status, text: text, err: err}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", h.s.cfg.AllowOrigin)
	if r.Method == http.MethodOptions {
		hd.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Content-Type, Cache-Control, Pragma")
		hd.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	start := time.Now()
	log := h.s.log.With("service", h.kind.String(), "remote", r.RemoteAddr)
	if (h.kind == xmlPre || h.kind == xmlPost) && !h.s.cfg.XMLEnabled {
		http.Error(w, textDisabled, http.StatusServiceUnavailable)
		log.Info("batch request refused", "status", http.StatusServiceUnavailable, "reason", "XML batch disabled")
		return
	}
	out, summary, herr := h.handle(r)
	if herr != nil {
		if herr.status == statusCancelled {
			log.Info("batch request cancelled by the client", "err", herr.err, "ms", time.Since(start).Milliseconds())
			return
		}
		http.Error(w, herr.text, herr.status)
		if herr.status >= 500 {
			log.Error("batch request failed", "status", herr.status, "err", herr.text, "ms", time.Since(start).Milliseconds())
		} else {
			log.Warn("batch request rejected", "status", herr.status, "err", herr.text, "ms", time.Since(start).Milliseconds())
		}
		return
	}
	if h.kind == xmlPre || h.kind == xmlPost {
		hd.Set("Content-Type", contentXML)
	} else {
		hd.Set("Content-Type", contentJSON)
	}
	hd.Set("Cache-Control", "no-store")
	_, _ = w.Write(out)
	log.Info("batch request", append(summary, "ms", time.Since(start).Milliseconds())...)
}

// handle runs one request and returns the reply body and a log summary.
func (h *handler) handle(r *http.Request) ([]byte, []any, *httpError) {
	form, herr := h.readForm(r)
	if herr != nil {
		return nil, nil, herr
	}
	b, herr := h.batch(form)
	if herr != nil {
		return nil, nil, herr
	}
	certs, ok := form[paramCerts]
	if !ok || strings.TrimSpace(certs) == "" {
		return nil, nil, fail(http.StatusBadRequest, textNoCerts, nil)
	}
	chain, err := server.ParseCertificates(certs, certSeparator)
	if err != nil {
		return nil, nil, fail(http.StatusBadRequest, textBadCerts, err)
	}
	ctx := r.Context()
	switch h.kind {
	case jsonPre, xmlPre:
		p, err := h.s.Presign(ctx, b, chain)
		if err != nil {
			return nil, nil, h.phaseError(ctx, err, textPreFailed)
		}
		summary := []any{"entries", len(b.Items), "presigned", len(p.Sessions), "failed", len(p.Failures)}
		if h.kind == jsonPre {
			return AppendJSONPresign(make([]byte, 0, 512*len(p.Sessions)+64), p), summary, nil
		}
		if b.StopOnError && len(p.Failures) > 0 {
			// The XML reply has no error list: a stopped batch is an error, as in the reference.
			for _, f := range p.Failures {
				if f.Code == ErrorPre {
					return nil, nil, fail(http.StatusInternalServerError, textPreFailed,
						fmt.Errorf("entry %q failed and the batch stops on error: %s", f.ID, f.Description))
				}
			}
		}
		return AppendXMLPresign(nil, p), summary, nil
	default:
		td, herr := h.session(form)
		if herr != nil {
			return nil, nil, herr
		}
		res, err := h.s.PostsignWith(ctx, b, chain, td, PostsignOptions{DropNewIDs: true})
		if err != nil {
			return nil, nil, h.phaseError(ctx, err, textPostFailed)
		}
		counts := map[Code]int{}
		for _, x := range res {
			counts[x.Code]++
		}
		summary := []any{"entries", len(b.Items), "results", fmt.Sprint(counts)}
		if h.kind == jsonPost {
			return AppendJSONResults(make([]byte, 0, 64*len(res)+16), res), summary, nil
		}
		return AppendXMLResults(make([]byte, 0, 80*len(res)+64), res), summary, nil
	}
}

// phaseError maps a whole-batch error of a phase to its answer.
func (h *handler) phaseError(ctx context.Context, err error, text string) *httpError {
	switch {
	case ctx.Err() != nil:
		return fail(statusCancelled, textCancelled, err)
	case errors.Is(err, ErrLimits), errors.Is(err, trifirma.ErrTooLarge):
		return fail(http.StatusBadRequest, textLimits, err)
	case errors.Is(err, ErrInvalidBatch), errors.Is(err, trifirma.ErrUnsupportedAlgorithm):
		return fail(http.StatusBadRequest, textBadBatch, err)
	case errors.Is(err, trifirma.ErrInvalidCertificate):
		return fail(http.StatusBadRequest, textBadCerts, err)
	}
	return fail(http.StatusInternalServerError, text, err)
}

// readForm reads the request parameters as the reference does: GET from the query string
// (percent-decoded); any other method from the body, split on '&' and on the first '=', values
// taken verbatim. Unlike the reference, a value holding %XX escapes is percent-decoded ('+'
// stays '+'), which no Base64 value can be confused by.
func (h *handler) readForm(r *http.Request) (map[string]string, *httpError) {
	m := map[string]string{}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		for k, v := range r.URL.Query() {
			if len(v) > 0 {
				m[k] = v[0]
			}
		}
		return m, nil
	}
	body, err := readBody(r.Body, r.ContentLength, h.s.cfg.MaxBodySize)
	if err != nil {
		if errors.Is(err, ErrLimits) {
			return nil, fail(http.StatusRequestEntityTooLarge, textLimits, err)
		}
		if r.Context().Err() != nil {
			return nil, fail(statusCancelled, textCancelled, err)
		}
		return nil, fail(http.StatusBadRequest, textMalformed, err)
	}
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fail(http.StatusBadRequest, textMalformed, fmt.Errorf("parameter without '=': %.40q", pair))
		}
		if strings.IndexByte(v, '%') >= 0 {
			dv, err := url.PathUnescape(v)
			if err != nil {
				return nil, fail(http.StatusBadRequest, textMalformed, fmt.Errorf("parameter %q: %v", k, err))
			}
			v = dv
		}
		m[k] = v
	}
	return m, nil
}

// batch decodes the batch definition parameter.
func (h *handler) batch(form map[string]string) (*Batch, *httpError) {
	if h.kind == jsonPre || h.kind == jsonPost {
		v, ok := form[paramJSON]
		if !ok {
			return nil, fail(http.StatusBadRequest, textNoJSON, nil)
		}
		if int64(len(v))/4*3 > h.s.cfg.MaxBatchSize+3 {
			return nil, fail(http.StatusBadRequest, textLimits, fmt.Errorf("%w: the batch definition is larger than %d bytes", ErrLimits, h.s.cfg.MaxBatchSize))
		}
		raw, err := b64.DecodeString(b64Field(v))
		if err != nil {
			return nil, fail(http.StatusBadRequest, textBadBatch, errors.New("the json parameter is not Base64"))
		}
		if int64(len(raw)) > h.s.cfg.MaxBatchSize {
			return nil, fail(http.StatusBadRequest, textLimits, fmt.Errorf("%w: the batch definition has %d bytes, the maximum is %d", ErrLimits, len(raw), h.s.cfg.MaxBatchSize))
		}
		b, err := ParseJSON(raw)
		if err != nil {
			return nil, fail(http.StatusBadRequest, textBadBatch, err)
		}
		return b, nil
	}
	v, ok := form[paramXML]
	if !ok {
		return nil, fail(http.StatusBadRequest, textNoXML, nil)
	}
	max := int64(MaxXMLBatchSize)
	if h.s.cfg.MaxBatchSize < max {
		max = h.s.cfg.MaxBatchSize
	}
	var raw []byte
	if t := strings.TrimSpace(v); strings.HasPrefix(t, "<") {
		raw = []byte(t)
	} else {
		if int64(len(v))/4*3 > max+3 {
			return nil, fail(http.StatusBadRequest, textLimits, fmt.Errorf("%w: the batch definition is larger than %d bytes", ErrLimits, max))
		}
		var err error
		if raw, err = b64.DecodeString(b64Field(v)); err != nil {
			return nil, fail(http.StatusBadRequest, textBadBatch, errors.New("the xml parameter is neither XML nor Base64"))
		}
	}
	if int64(len(raw)) > max {
		return nil, fail(http.StatusBadRequest, textLimits, fmt.Errorf("%w: the batch definition has %d bytes, the maximum is %d", ErrLimits, len(raw), max))
	}
	b, err := ParseXML(raw)
	if err != nil {
		if errors.Is(err, ErrLimits) {
			return nil, fail(http.StatusBadRequest, textLimits, err)
		}
		return nil, fail(http.StatusBadRequest, textBadBatch, err)
	}
	return b, nil
}

// session decodes tridata.
func (h *handler) session(form map[string]string) (*trifirma.TriphaseData, *httpError) {
	v, ok := form[paramTridata]
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fail(http.StatusBadRequest, textNoTridata, nil)
	}
	raw, err := b64.DecodeString(b64Field(v))
	if err != nil {
		return nil, fail(http.StatusBadRequest, textBadTridata, errors.New("tridata is not Base64"))
	}
	var td *trifirma.TriphaseData
	if h.kind == jsonPost {
		td, err = ParseJSONSession(raw)
	} else {
		td, err = trifirma.ParseTriphaseData(raw)
	}
	if err != nil {
		return nil, fail(http.StatusBadRequest, textBadTridata, err)
	}
	return td, nil
}

// b64Field undoes the one loss of form decoding for Base64 values: a standard-alphabet '+'
// that arrived unencoded in a query string and was decoded into a space. Base64 never
// contains spaces (and the lenient decoder would silently skip them, corrupting the data).
func b64Field(v string) string {
	if strings.IndexByte(v, ' ') < 0 {
		return v
	}
	return strings.ReplaceAll(v, " ", "+")
}

// readBody reads the whole body as a string (one allocation when the length is known),
// refusing more than limit bytes with an error wrapping [ErrLimits].
func readBody(r io.Reader, contentLength, limit int64) (string, error) {
	if contentLength > limit {
		return "", fmt.Errorf("%w: the request body has %d bytes, the maximum is %d", ErrLimits, contentLength, limit)
	}
	var sb strings.Builder
	if contentLength > 0 {
		sb.Grow(int(contentLength))
	}
	n, err := io.Copy(&sb, io.LimitReader(r, limit+1))
	if err != nil {
		return "", err
	}
	if n > limit {
		return "", fmt.Errorf("%w: the request body exceeds %d bytes", ErrLimits, limit)
	}
	return sb.String(), nil
}
