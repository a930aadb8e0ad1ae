package relay

import (
	"errors"
	"net/http"
	"strings"
)

// Wire error codes of the intermediate server (ErrorManager in the reference services). Each
// answer is "<code>:=<message>", followed by a line feed when sent as an HTTP response.
const (
	CodeMissingOperation   = "ERR-00" // no "op"
	CodeUnsupportedOp      = "ERR-01" // "op" is not put/get
	CodeMissingData        = "ERR-02" // put without "dat" (stored as the entry's content)
	CodeMissingID          = "ERR-05" // no "id"
	CodeInvalidID          = "ERR-06" // bad id, and also "not found / expired / already read"
	CodeInvalidData        = "ERR-07" // payload too large (stored) or unreadable
	CodeStoreFailed        = "ERR-18" // the payload could not be stored
	CodeMissingSyntaxVersn = "ERR-20" // no "v"
)

var wireMessages = map[string]string{
	CodeMissingOperation:   "No se ha indicado código de operación",
	CodeUnsupportedOp:      "Código de operación no soportado",
	CodeMissingData:        "No se han proporcionado los datos de la operación",
	CodeMissingID:          "No se ha proporcionado un identificador para los datos",
	CodeInvalidID:          "El identificador para los datos es inválido",
	CodeInvalidData:        "Los datos solicitados o enviados son inválidos",
	CodeStoreFailed:        "No se ha podido enviar la firma generada a la Web de origen",
	CodeMissingSyntaxVersn: "No se ha indicado la versión de la sintaxis de la operación",
}

// WireError returns the reference text for code ("ERR-06:=El identificador para los datos es
// inválido"), without a line terminator. Unknown codes get the reference's generic message.
func WireError(code string) string {
	msg, ok := wireMessages[code]
	if !ok {
		msg = "Error genérico"
	}
	return code + ":=" + msg
}

// ParseWireError splits a relay or app error answer "ERR-NN:=message" (any case, trailing line
// terminators ignored) into its code (upper-cased) and message. ok is false when s is not in
// that form.
func ParseWireError(s string) (code, message string, ok bool) {
	s = strings.TrimRight(s, "\r\n")
	i := strings.Index(s, ":=")
	if i < 0 || len(s) < 4 || !strings.EqualFold(s[:4], "err-") {
		return "", "", false
	}
	return strings.ToUpper(s[:i]), s[i+2:], true
}

// Prebuilt response bodies: errors are written with println in the reference (line feed), "OK"
// for a successful put without one, "OK" for check with one.
var (
	bodyOK      = []byte("OK")
	bodyOKLine  = []byte("OK\n")
	lineFeed    = []byte("\n")
	errorBodies = func() map[string][]byte {
		m := make(map[string][]byte, len(wireMessages))
		for code := range wireMessages {
			m[code] = []byte(WireError(code) + "\n")
		}
		return m
	}()
	// Stored contents for the two cases where the reference stores an error and answers OK.
	storedMissingData = []byte(WireError(CodeMissingData))
	storedTooLarge    = []byte(WireError(CodeInvalidData))
)

var (
	hdrStar      = []string{"*"}
	hdrTextPlain = []string{"text/plain;charset=utf-8"}
	hdrNoStore   = []string{"no-store"}
)

// setHeaders sets the reference's response headers (plus Cache-Control: no-store, since every
// answer is one-shot) without canonicalising keys on every request.
func setHeaders(w http.ResponseWriter) {
	h := w.Header()
	h["Access-Control-Allow-Origin"] = hdrStar
	h["Content-Type"] = hdrTextPlain
	h["Cache-Control"] = hdrNoStore
}

func writeError(w http.ResponseWriter, code string) {
	_, _ = w.Write(errorBodies[code])
}

// errMalformed reports a bad percent-escape in a parameter value.
var errMalformed = errors.New("relay: malformed percent-encoding")
