package invocation

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/b64"
)

// Operation is an operation code of the protocol-invocation specification, written as the URL's
// host and as its "op" parameter.
type Operation string

// The operations of the protocol-invocation specification.
const (
	OpSign        Operation = "sign"
	OpCosign      Operation = "cosign"
	OpCountersign Operation = "countersign"
	OpBatch       Operation = "batch"
	OpSelectCert  Operation = "selectcert"
	OpSave        Operation = "save"
	OpLoad        Operation = "load"
	OpSignAndSave Operation = "signandsave"
	OpGetLog      Operation = "getlog"
)

// kind returns the canonical operation for op (compared case-insensitively, so the
// specification's "getLog" is OpGetLog), or "" when op is unknown.
func (op Operation) kind() Operation {
	switch k := Operation(strings.ToLower(string(op))); k {
	case OpSign, OpCosign, OpCountersign, OpBatch, OpSelectCert, OpSave, OpLoad, OpSignAndSave, OpGetLog:
		return k
	}
	return ""
}

// ErrInvalidRequest reports a [Request] the apps would refuse or that sets parameters its
// operation does not take.
var ErrInvalidRequest = errors.New("invocation: invalid request")

// Request describes one operation. Which fields apply depends on Op (see each field); setting a
// field the operation does not take is an error, so that nothing is silently dropped. Pointer
// booleans are written only when not nil, as the reference pages do.
type Request struct {
	// Op is the operation. It is written as given (so "getLog" stays "getLog") and must be one of
	// the Op constants in any letter case.
	Op Operation

	// Data is "dat", sent as padded URL-safe Base64: the data to sign (sign, signandsave), the
	// signature to co- or countersign (cosign, countersign), the batch definition (batch) or the
	// data to save (save). Nil lets AutoFirma ask the user for a file (sign family).
	Data []byte
	// Format ("format") and Algorithm ("algorithm", e.g. "SHA256withRSA"): sign family and
	// signandsave; both required there.
	Format, Algorithm string
	// CryptoOp is "cop" of signandsave: OpSign, OpCosign or OpCountersign (required).
	CryptoOp Operation
	// Properties are the extra parameters ("properties", Java properties text in padded
	// URL-safe Base64): sign family, signandsave, batch, selectcert (certificate filters).
	Properties trifirma.Params
	// KeyStore is "ksb64", the key store to use ("NAME" or "NAME:library path"), sent as padded
	// standard Base64 because AutoFirma decodes it with the standard alphabet only. Sign family,
	// signandsave, batch, selectcert.
	KeyStore string
	// Sticky ("sticky") and ResetSticky ("resetsticky"): remember or forget the chosen
	// certificate. Sign family, signandsave, batch, selectcert.
	Sticky, ResetSticky *bool

	// BatchPreSignerURL ("batchpresignerurl") and BatchPostSignerURL ("batchpostsignerurl"):
	// batch only, both required.
	BatchPreSignerURL, BatchPostSignerURL string
	// NeedCert ("needcert"): batch only; also return the signing certificate.
	NeedCert *bool
	// JSONBatch ("jsonbatch"): batch only; Data is a JSON batch rather than an XML one.
	JSONBatch *bool

	// Title ("title") of the file dialog: save, load.
	Title string
	// FileName ("filename"): proposed file name; save, signandsave.
	FileName string
	// FilePath ("filePath"): default directory; load.
	FilePath string
	// Extensions ("exts", comma-separated) and Description ("desc") of the file type: save, load.
	Extensions, Description string
	// MultiLoad ("multiload"): load several files; load.
	MultiLoad *bool

	// Extra parameters appended after the operation's own, for parameters this type does not
	// model. They must not repeat a modelled key.
	Extra []Param
}

// Bool returns a pointer to b, for the pointer fields of [Request].
func Bool(b bool) *bool { return &b }

// Common holds the parameters shared by operation URLs, written around the operation's own in
// the order jvc, mcv, ver, op, id, key, cipher, stservlet, appname, (operation parameters), aw.
// Empty fields are left out.
type Common struct {
	// JSVersion is "jvc", the deployment script version (the specification documents 2).
	JSVersion string
	// MinClientVersion is "mcv", the minimum AutoFirma version (e.g. "1.7.0").
	MinClientVersion string
	// ProtocolVersion is "ver" (the specification documents 3).
	ProtocolVersion string
	// ID is "id", the id under which the app stores its result on the intermediate server.
	ID string
	// Key is "key", the 8-character DES key of the intermediate-server data.
	Key string
	// Cipher is "cipher", the AES configuration (see cipher.AES.Param).
	Cipher string
	// StorageURL is "stservlet", the StorageService URL where the app puts its result.
	StorageURL string
	// AppName is "appname", the name the app shows as the requester.
	AppName string
	// ActiveWaiting writes "aw=true": AutoFirma stores "#WAIT" periodically while it works.
	ActiveWaiting bool
}

// URL returns the invocation URL of r with the common parameters c.
func (r Request) URL(c Common) (URL, error) {
	own, err := r.params()
	if err != nil {
		return URL{}, err
	}
	u := URL{Op: string(r.Op)}
	u.add("jvc", c.JSVersion)
	u.add("mcv", c.MinClientVersion)
	u.add("ver", c.ProtocolVersion)
	u.add("op", string(r.Op))
	u.add("id", c.ID)
	u.add("key", c.Key)
	u.add("cipher", c.Cipher)
	u.add("stservlet", c.StorageURL)
	u.add("appname", c.AppName)
	u.Params = append(u.Params, own...)
	if c.ActiveWaiting {
		u.add("aw", "true")
	}
	return u, nil
}

type field struct {
	key string
	set bool
	val string
	ops []Operation // operations that take it
}

var (
	signFamily    = []Operation{OpSign, OpCosign, OpCountersign, OpSignAndSave}
	withKeyStore  = []Operation{OpSign, OpCosign, OpCountersign, OpSignAndSave, OpBatch, OpSelectCert}
	withData      = []Operation{OpSign, OpCosign, OpCountersign, OpSignAndSave, OpBatch, OpSave}
	withFileName  = []Operation{OpSave, OpSignAndSave}
	withFileTypes = []Operation{OpSave, OpLoad}
)

func boolField(key string, b *bool, ops []Operation) field {
	f := field{key: key, set: b != nil, ops: ops}
	if b != nil {
		f.val = strconv.FormatBool(*b)
	}
	return f
}

func strField(key, v string, ops []Operation) field {
	return field{key: key, set: v != "", val: v, ops: ops}
}

// params returns the operation's own parameters, validated.
func (r Request) params() ([]Param, error) {
	kind := r.Op.kind()
	if kind == "" {
		return nil, fmt.Errorf("%w: unknown operation %q", ErrInvalidRequest, r.Op)
	}
	var props, ks string
	if len(r.Properties) > 0 {
		props = r.Properties.Encode()
	}
	if r.KeyStore != "" {
		ks = b64.EncodeStd([]byte(r.KeyStore))
	}
	var dat string
	if r.Data != nil {
		dat = b64.EncodeURL(r.Data)
	}
	fields := []field{
		strField("cop", string(r.CryptoOp), []Operation{OpSignAndSave}),
		strField("format", r.Format, signFamily),
		strField("algorithm", r.Algorithm, signFamily),
		strField("properties", props, withKeyStore),
		strField("batchpresignerurl", r.BatchPreSignerURL, []Operation{OpBatch}),
		strField("batchpostsignerurl", r.BatchPostSignerURL, []Operation{OpBatch}),
		boolField("needcert", r.NeedCert, []Operation{OpBatch}),
		boolField("jsonbatch", r.JSONBatch, []Operation{OpBatch}),
		strField("ksb64", ks, withKeyStore),
		boolField("sticky", r.Sticky, withKeyStore),
		boolField("resetsticky", r.ResetSticky, withKeyStore),
		strField("title", r.Title, withFileTypes),
		strField("filename", r.FileName, withFileName),
		strField("filePath", r.FilePath, []Operation{OpLoad}),
		strField("exts", r.Extensions, withFileTypes),
		strField("desc", r.Description, withFileTypes),
		boolField("multiload", r.MultiLoad, []Operation{OpLoad}),
		{key: "dat", set: r.Data != nil, val: dat, ops: withData},
	}
	seen := make(map[string]bool, len(fields)+len(r.Extra))
	var out []Param
	for _, f := range fields {
		seen[f.key] = true
		if !f.set {
			continue
		}
		if !containsOp(f.ops, kind) {
			return nil, fmt.Errorf("%w: operation %s does not take %q", ErrInvalidRequest, r.Op, f.key)
		}
		out = append(out, Param{Key: f.key, Value: f.val})
	}
	switch kind {
	case OpSign, OpCosign, OpCountersign, OpSignAndSave:
		if r.Format == "" || r.Algorithm == "" {
			return nil, fmt.Errorf("%w: %s needs a format and an algorithm", ErrInvalidRequest, r.Op)
		}
	case OpBatch:
		if r.BatchPreSignerURL == "" || r.BatchPostSignerURL == "" || r.Data == nil {
			return nil, fmt.Errorf("%w: batch needs the batch definition and both batch service URLs", ErrInvalidRequest)
		}
	case OpSave:
		if r.Data == nil {
			return nil, fmt.Errorf("%w: save needs data", ErrInvalidRequest)
		}
	}
	if kind == OpSignAndSave {
		switch r.CryptoOp.kind() {
		case OpSign, OpCosign, OpCountersign:
		default:
			return nil, fmt.Errorf("%w: signandsave needs cop sign, cosign or countersign, not %q", ErrInvalidRequest, r.CryptoOp)
		}
	}
	for _, common := range []string{"jvc", "mcv", "ver", "op", "id", "key", "cipher", "stservlet", "rtservlet", "fileid", "appname", "aw"} {
		seen[common] = true
	}
	for _, p := range r.Extra {
		if p.Key == "" || seen[p.Key] {
			return nil, fmt.Errorf("%w: extra parameter %q is empty or already modelled", ErrInvalidRequest, p.Key)
		}
		seen[p.Key] = true
		out = append(out, p)
	}
	return out, nil
}

func containsOp(ops []Operation, op Operation) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}

// SocketSession describes the URL that opens a WebSocket ("afirma://websocket") or socket
// ("afirma://service") session with AutoFirma; the operations are then sent through the socket.
type SocketSession struct {
	// Version is "v": the protocol version (the specification documents 3 for WebSockets and 1
	// for sockets). Required.
	Version string
	// JSVersion is "jvc" and MinClientVersion "mcv", as in [Common].
	JSVersion, MinClientVersion string
	// Ports is "ports": the ports AutoFirma tries, in order, written comma-separated and
	// unescaped as the reference page does. Required for "service".
	Ports []int
	// IDSession is "idsession", the session id every later request repeats. Required for
	// "service".
	IDSession string
}

// WebSocketURL returns "afirma://websocket?[ports=...&]v=...[&jvc=...][&mcv=...][&idsession=...]".
func WebSocketURL(s SocketSession) (URL, error) {
	if s.Version == "" {
		return URL{}, fmt.Errorf("%w: websocket session needs a version", ErrInvalidRequest)
	}
	return s.url("websocket")
}

// ServiceURL returns "afirma://service?ports=...&v=...[&jvc=...][&mcv=...]&idsession=...".
func ServiceURL(s SocketSession) (URL, error) {
	if s.Version == "" || len(s.Ports) == 0 || s.IDSession == "" {
		return URL{}, fmt.Errorf("%w: socket session needs a version, ports and a session id", ErrInvalidRequest)
	}
	return s.url("service")
}

func (s SocketSession) url(host string) (URL, error) {
	u := URL{Op: host}
	if len(s.Ports) > 0 {
		ports := make([]string, len(s.Ports))
		for i, p := range s.Ports {
			if p <= 0 || p > 65535 {
				return URL{}, fmt.Errorf("%w: port %d out of range", ErrInvalidRequest, p)
			}
			ports[i] = strconv.Itoa(p)
		}
		u.Params = append(u.Params, Param{Key: "ports", Value: strings.Join(ports, ","), Verbatim: true})
	}
	u.add("v", s.Version)
	u.add("jvc", s.JSVersion)
	u.add("mcv", s.MinClientVersion)
	u.add("idsession", s.IDSession)
	return u, nil
}
