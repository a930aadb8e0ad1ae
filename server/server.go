// Package server provides the HTTP handlers of the triphase signature service, wire-compatible
// with the reference SignatureService: mount [Server] at
// /afirma-server-triphase-signer/SignatureService and [VersionHandler] at
// /afirma-server-triphase-signer/version. Format logic lives in the engines; this package parses
// the wire, calls the presign and postsign phases and maps errors to the wire's ERR-n answers.
package server

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/docmanager"
	"github.com/trifirma/trifirma/internal/b64"
	"github.com/trifirma/trifirma/postsign"
	"github.com/trifirma/trifirma/presign"
)

// DefaultMaxBodySize is the default request body cap (128 MiB of Base64, about 96 MiB of
// document).
const DefaultMaxBodySize = 128 << 20

// Config configures a [Server]. Engines is required; every other field has a safe default.
type Config struct {
	// Engines maps formats to engines (e.g. formats.Default()).
	Engines trifirma.Registry
	// Sealer protects sessions; nil means a fresh random key (sessions then only validate on
	// this process: configure a shared key for a cluster).
	Sealer *trifirma.Sealer
	// Documents resolves `doc` and stores results; nil means docmanager.Inline{}.
	Documents docmanager.Manager
	// AllowOrigin is the Access-Control-Allow-Origin value; empty means "*".
	AllowOrigin string
	// MaxBodySize caps request bodies; 0 means DefaultMaxBodySize.
	MaxBodySize int64
	// VerificationKey enables the reference's HMAC verification codes (ERR-16/ERR-17).
	VerificationKey string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per request; nil means slog.Default().
	Logger *slog.Logger
}

// Server is the SignatureService handler. It is safe for concurrent use.
type Server struct {
	cfg   Config
	pre   *presign.Presigner
	post  *postsign.Postsigner
	docs  docmanager.Manager
	log   *slog.Logger
	certs *chainCache
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if len(cfg.Engines) == 0 {
		return nil, errors.New("server: Config.Engines is empty")
	}
	if cfg.Sealer == nil {
		cfg.Sealer = trifirma.GenerateSealer()
	}
	if cfg.Now != nil && cfg.Sealer.Now == nil {
		cfg.Sealer.Now = cfg.Now
	}
	if cfg.Documents == nil {
		cfg.Documents = docmanager.Inline{}
	}
	if cfg.AllowOrigin == "" {
		cfg.AllowOrigin = "*"
	}
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = DefaultMaxBodySize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{
		cfg:   cfg,
		pre:   &presign.Presigner{Engines: cfg.Engines, Sealer: cfg.Sealer, Now: cfg.Now, VerificationKey: cfg.VerificationKey},
		post:  &postsign.Postsigner{Engines: cfg.Engines, Sealer: cfg.Sealer, VerificationKey: cfg.VerificationKey},
		docs:  cfg.Documents,
		log:   cfg.Logger,
		certs: newChainCache(1024, ","),
	}, nil
}

// Presigner returns the phase-1 runner the server uses (shared with the batch handlers).
func (s *Server) Presigner() *presign.Presigner { return s.pre }

// Documents returns the document manager the server uses (shared with the batch handlers).
func (s *Server) Documents() docmanager.Manager { return s.docs }

// Postsigner returns the phase-3 runner the server uses.
func (s *Server) Postsigner() *postsign.Postsigner { return s.post }

// ServeHTTP implements the SignatureService protocol. Like the reference it reads parameters
// from the body whatever the method; unlike it, it answers CORS preflight requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", s.cfg.AllowOrigin)
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type, Cache-Control, Pragma")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Content-Type", "text/plain;charset=utf-8")
	start := time.Now()
	// The body buffer is recycled once the answer is written: the document (decoded in place)
	// and a streamed signature refer to it until then, every other value is copied out.
	body, buf, err := readPooledBody(r.Body, r.ContentLength, s.cfg.MaxBodySize)
	if buf != nil {
		defer func(used int) {
			clear((*buf)[:used]) // no request's data lingers in the pool
			smallBodies.Put(buf)
		}(len(body))
	}
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrBodyTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		s.log.Warn("signature request body rejected", "remote", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), status)
		return
	}
	form, err := ParseForm(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p := fields(form)
	resp := s.handle(r.Context(), w, p)
	if resp != nil {
		_, _ = io.WriteString(w, resp.text)
		s.log.Info("signature request", "op", p.op, "cop", p.cop, "format", p.format,
			"result", resp.code, "detail", resp.detail, "ms", time.Since(start).Milliseconds())
		return
	}
	s.log.Info("signature request", "op", p.op, "cop", p.cop, "format", p.format, "result", "OK",
		"ms", time.Since(start).Milliseconds())
}

// request holds the wire parameters: small values copied out of the body, the document as a
// sub-slice of it.
type request struct {
	op, cop, format, algo, cert, params, session string
	hasOp, hasFormat, hasCert, hasSession        bool
	doc                                          []byte
	hasDoc                                       bool
}

func fields(form map[string][]byte) *request {
	p := &request{}
	str := func(k string, has *bool) string {
		v, ok := form[k]
		if has != nil {
			*has = ok
		}
		return string(v)
	}
	p.op = str("op", &p.hasOp)
	p.cop = str("cop", nil)
	p.format = str("format", &p.hasFormat)
	p.algo = str("algo", nil)
	p.cert = str("cert", &p.hasCert)
	p.params = str("params", nil)
	p.session = str("session", &p.hasSession)
	p.doc, p.hasDoc = form["doc"]
	return p
}

// wireError is an ERR-n answer.
type wireError struct {
	code   string // "ERR-9"
	text   string // full body
	detail string // for logs
}

func errResp(code int, err error) *wireError {
	text := fmt.Sprintf("ERR-%d: %s", code, errorTexts[code])
	detail := ""
	if err != nil {
		detail = err.Error()
		text += ": " + clientDetail(err)
	}
	if code == 11 {
		text += "\n"
	}
	return &wireError{code: fmt.Sprintf("ERR-%d", code), text: text, detail: detail}
}

// clientDetail renders an error for the client. The Java clients read an exception class name
// between the 2nd and 3rd ':' of an ERR line; our texts are not class names, so colons in them
// are softened to keep the client from misreading a word as a class.
func clientDetail(err error) string {
	return strings.ReplaceAll(err.Error(), ": ", " - ")
}

// errorTexts are the reference's texts (ErrorManager), ASCII without accents.
var errorTexts = map[int]string{
	1:  "No se ha indicado la operacion a realizar",
	2:  "No se ha indicado el identificador del documento",
	3:  "No se ha indicado el algoritmo de firma",
	4:  "No se ha indicado el formato de firma",
	5:  "No se ha indicado el certificado de usuario",
	6:  "El formato de los parametros adicionales suministrados es erroneo",
	7:  "El certificado de usuario no esta en formato X.509",
	8:  "Formato de firma no soportado",
	9:  "Error realizando la prefirma",
	10: "Error al almacenar el documento",
	11: "Operacion desconocida",
	12: "Error realizando la postfirma",
	13: "No se indicado una sub-operacion valida a realizar (firma, cofirma,...)",
	14: "Error al recuperar el documento",
	15: "El formato de los datos de sesion suministrados es erroneo",
	16: "Error al generar el codigo de verificacion de las firmas",
	17: "Error al comprobar el codigo de verificacion de las firmas",
	18: "Error de integridad en la firma",
	19: "El formato de los datos de operacion suministrados es erroneo",
	20: "Algoritmo de firma no soportado",
	21: "Se requiere intervencion del usuario",
}

// ErrorText returns the reference's text for ERR-code.
func ErrorText(code int) string { return errorTexts[code] }

// phaseError maps an engine/phase error to its ERR-n answer; fallback is 9 (pre) or 12 (post).
func phaseError(err error, fallback int) *wireError {
	var cn *trifirma.ConfigNeededError
	if errors.As(err, &cn) {
		if cn.Denied {
			return errResp(9, err)
		}
		return &wireError{
			code:   "ERR-21",
			text:   fmt.Sprintf("ERR-21:%s: %s: %s", cn.Code, errorTexts[21], clientDetail(err)),
			detail: err.Error(),
		}
	}
	switch {
	case errors.Is(err, trifirma.ErrUnsupportedAlgorithm):
		return errResp(20, err)
	case errors.Is(err, trifirma.ErrUnsupportedFormat):
		return errResp(8, err)
	case errors.Is(err, trifirma.ErrSessionTampered), errors.Is(err, trifirma.ErrSessionExpired),
		errors.Is(err, postsign.ErrVerificationCode):
		return errResp(17, err)
	}
	return errResp(fallback, err)
}

// handle runs one request and returns the error answer, or nil after writing a success.
func (s *Server) handle(ctx context.Context, w http.ResponseWriter, p *request) *wireError {
	// 1. op present
	if !p.hasOp || p.op == "" {
		return errResp(1, nil)
	}
	// 2. cop valid (case-insensitive in both phases; the reference's case-sensitive post
	// dispatch is a quirk no client depends on)
	cop, err := trifirma.ParseOperation(p.cop)
	if err != nil {
		return errResp(13, nil)
	}
	// 3. format present
	if !p.hasFormat || p.format == "" {
		return errResp(4, nil)
	}
	// 4. params
	params, err := trifirma.DecodeParams(base64Field(p.params))
	if err != nil {
		return errResp(6, err)
	}
	normaliseParams(params)
	// 5. session (Base64 here; XML parsed in post)
	var sessionXML []byte
	if strings.TrimSpace(p.session) != "" {
		if sessionXML, err = b64.DecodeString(base64Field(strings.TrimSpace(p.session))); err != nil {
			return errResp(6, fmt.Errorf("the session is not Base64"))
		}
	}
	// 6. certificate chain
	if !p.hasCert || strings.TrimSpace(p.cert) == "" {
		return errResp(5, nil)
	}
	chain, err := s.certs.parse(p.cert, ",")
	if err != nil {
		return errResp(7, err)
	}
	// 7. document
	var doc []byte
	docRef := ""
	if p.hasDoc {
		if d, ok := s.docs.(docmanager.InPlaceDecoder); ok {
			base64FieldInPlace(p.doc)
			doc, err = d.DecodeInPlace(p.doc)
		} else {
			docRef = base64Field(string(p.doc))
			doc, err = s.docs.GetDocument(ctx, docRef, chain, params)
		}
		p.doc = nil
		if err != nil {
			return errResp(14, err)
		}
	}
	// 8. algorithm
	alg, err := trifirma.ComposeAlgorithm(p.algo, chain[0].PublicKey)
	if err != nil {
		return errResp(20, err)
	}
	// 9. format
	format, err := trifirma.ParseFormat(p.format)
	if err != nil {
		return errResp(8, nil)
	}
	if _, err := s.cfg.Engines.Engine(format); err != nil {
		return errResp(8, nil)
	}
	req := &trifirma.Request{Operation: cop, Format: format, Document: doc, Chain: chain, Algorithm: alg, Params: params}
	// 10. dispatch
	switch strings.ToLower(p.op) {
	case "pre":
		if !p.hasDoc {
			return errResp(9, fmt.Errorf("%w: no document (doc) in the request", trifirma.ErrInvalidDocument))
		}
		td, err := s.pre.Presign(ctx, req)
		if err != nil {
			return phaseError(err, 9)
		}
		enc := base64.NewEncoder(base64.URLEncoding, w)
		_, _ = enc.Write(td.Marshal())
		_ = enc.Close()
		return nil
	case "post":
		if sessionXML == nil {
			return errResp(12, fmt.Errorf("%w: no session in the request", trifirma.ErrInvalidSession))
		}
		td, err := trifirma.ParseTriphaseData(sessionXML)
		if err != nil {
			return errResp(19, err)
		}
		// The result may refer to the document (PAdES: the document and its incremental
		// update), which lives in the request buffer until the answer is written.
		signed, err := s.post.PostsignStream(ctx, req, td)
		if err != nil {
			return phaseError(err, 12)
		}
		req.Document = nil
		storeParams := params
		if _, ok := storeParams["format"]; !ok {
			storeParams = params.Clone()
			storeParams["format"] = p.format
		}
		if nw, ok := s.docs.(docmanager.NewIDWriter); ok {
			_, _ = io.WriteString(w, "OK NEWID=")
			if err := nw.WriteNewID(ctx, w, docRef, chain, signed, storeParams); err != nil {
				s.log.Error("writing the signature failed", "err", err)
				return nil
			}
			_, _ = io.WriteString(w, "\n")
			return nil
		}
		id, err := docmanager.StoreSignature(ctx, s.docs, docRef, chain, signed, storeParams)
		if err != nil {
			return errResp(10, err)
		}
		_, _ = io.WriteString(w, "OK NEWID="+id+"\n")
		return nil
	}
	return errResp(11, nil)
}

// normaliseParams applies the reference's server-side tampering: validatePkcs1 is removed
// (this server always verifies PK1) and headless is forced.
func normaliseParams(p trifirma.Params) {
	delete(p, "validatePkcs1")
	p["headless"] = "true"
}

// parseCertParam decodes a sep-joined list of Base64 DER certificates (signer first).
func parseCertParam(v, sep string) ([]*x509.Certificate, error) {
	parts := strings.Split(v, sep)
	ders := make([][]byte, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		der, err := b64.DecodeString(base64Field(p))
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d is not Base64", trifirma.ErrInvalidCertificate, i)
		}
		ders = append(ders, der)
	}
	return trifirma.ParseChain(ders)
}

// ParseCertificates decodes a chain sent as sep-joined Base64 DER certificates (',' in the
// single-signature service, ';' in the batch services). Errors wrap
// [trifirma.ErrInvalidCertificate].
func ParseCertificates(v, sep string) ([]*x509.Certificate, error) { return parseCertParam(v, sep) }

// VersionHandler answers GET requests with the version text, like the reference /version.
func VersionHandler(version string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain;charset=utf-8")
		_, _ = io.WriteString(w, strings.TrimSpace(version))
	})
}
