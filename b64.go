package trifirma

import "github.com/trifirma/trifirma/internal/b64"

func decodeB64(s string) ([]byte, error) { return b64.DecodeString(s) }

// EncodeStd returns padded standard Base64, the encoding of session values (PRE, PK1, ...).
func EncodeStd(b []byte) string { return b64.EncodeStd(b) }

// EncodeURL returns padded URL-safe Base64, the encoding of request and response bodies.
func EncodeURL(b []byte) string { return b64.EncodeURL(b) }

// DecodeBase64 decodes Base64 leniently: either alphabet, padded or not, white space ignored.
func DecodeBase64(s string) ([]byte, error) { return b64.DecodeString(s) }
