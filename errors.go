package trifirma

import (
	"errors"
	"fmt"
)

// Sentinel errors. Engines and handlers wrap them with a precise text; callers branch with
// errors.Is. Only the HTTP handlers translate them into the wire's ERR-n codes.
var (
	// ErrUnsupportedFormat: the format is unknown or has no engine (wire ERR-8).
	ErrUnsupportedFormat = errors.New("trifirma: unsupported signature format")
	// ErrUnsupportedOperation: the sub-operation is unknown or the format does not support it.
	ErrUnsupportedOperation = errors.New("trifirma: unsupported operation")
	// ErrUnsupportedAlgorithm: MD2/MD5, an unknown digest, or a key type that cannot sign (ERR-20).
	ErrUnsupportedAlgorithm = errors.New("trifirma: unsupported signature algorithm")
	// ErrInvalidCertificate: the chain is missing, not X.509, or inconsistent with the key.
	ErrInvalidCertificate = errors.New("trifirma: invalid signer certificate")
	// ErrInvalidParams: malformed or contradictory extra parameters.
	ErrInvalidParams = errors.New("trifirma: invalid extra parameters")
	// ErrInvalidDocument: the document (or the signature to cosign/countersign) is malformed
	// or unsuitable for the operation.
	ErrInvalidDocument = errors.New("trifirma: invalid document")
	// ErrInvalidSession: the session (TriphaseData) is malformed or lacks a value the phase needs.
	ErrInvalidSession = errors.New("trifirma: invalid session data")
	// ErrSessionTampered: the session's seal does not match its content or the request.
	ErrSessionTampered = errors.New("trifirma: session was modified or belongs to another request")
	// ErrSessionExpired: the session's seal has expired.
	ErrSessionExpired = errors.New("trifirma: session has expired")
	// ErrBadSignatureValue: a PK1 value does not verify against the certificate and the exact
	// bytes it was meant to sign.
	ErrBadSignatureValue = errors.New("trifirma: signature value does not verify")
	// ErrDocumentNotFound: a document reference could not be resolved.
	ErrDocumentNotFound = errors.New("trifirma: document not found")
	// ErrTooLarge: an input exceeds a configured size limit.
	ErrTooLarge = errors.New("trifirma: input exceeds the configured limit")
)

// RequestorCode names a user confirmation the client must obtain before retrying (the code
// after ERR-21:). Each has an extra parameter that grants it.
type RequestorCode string

// The requestor codes of the reference implementation.
const (
	NeedSigningLTS                  RequestorCode = "signingLts"
	NeedAGEPolicyIncompatibleSign   RequestorCode = "agePolicyIncompatibilitySign"
	NeedAGEPolicyIncompatibleCosign RequestorCode = "agePolicyIncompatibilityCosign"
	NeedAGEPolicyIncompatibleCSign  RequestorCode = "agePolicyIncompatibilityCounterSign"
	NeedXPathNotFound               RequestorCode = "xPathNotFound"
	NeedPDFBadPassword              RequestorCode = "pdfbadpassword"
	NeedPDFPasswordProtected        RequestorCode = "pdfpasswordprotected"
	NeedSigningModifiedForm         RequestorCode = "signingModifiedPdfForm"
	NeedUnregisteredSignatures      RequestorCode = "signingPdfWithUnregisteredSigns"
	NeedSigningCertifiedPDF         RequestorCode = "signingCertifiedPdf"
	NeedShadowAttack                RequestorCode = "pdfShadowAttackSuspect"
)

// ConfigNeededError reports that the operation needs the user's explicit consent (or a
// password) expressed as the extra parameter Param. When the caller already set Param to
// "false", Denied is true and the operation is refused for good (wire ERR-9 instead of ERR-21).
type ConfigNeededError struct {
	Code   RequestorCode
	Param  string
	Denied bool
	Msg    string
}

func (e *ConfigNeededError) Error() string {
	if e.Denied {
		return fmt.Sprintf("trifirma: %s (refused by %s=false)", e.Msg, e.Param)
	}
	return fmt.Sprintf("trifirma: %s (set extra parameter %s to proceed)", e.Msg, e.Param)
}

// NeedConfig builds a ConfigNeededError for code, marking it denied when params has param set
// to "false".
func NeedConfig(params Params, code RequestorCode, param, msg string) *ConfigNeededError {
	v, ok := params[param]
	return &ConfigNeededError{Code: code, Param: param, Msg: msg, Denied: ok && v == "false"}
}
