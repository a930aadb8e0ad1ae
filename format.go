package trifirma

import (
	"fmt"
	"strings"
)

// Format is a signature format as named on the wire (the `format` request parameter).
type Format string

// The formats of the @firma triphase protocol.
const (
	FormatCAdES      Format = "CAdES"
	FormatXAdES      Format = "XAdES"
	FormatPAdES      Format = "PAdES"
	FormatCAdESASiCS Format = "CAdES-ASiC-S"
	FormatXAdESASiCS Format = "XAdES-ASiC-S"
	FormatFacturaE   Format = "FacturaE"
	FormatNONE       Format = "NONE"
)

// ParseFormat maps a wire format name to its Format, case-insensitively, accepting the
// reference's aliases (CAdEStri, PAdEStri, Factura-e, ...). Unknown names wrap
// [ErrUnsupportedFormat].
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "cades", "cadestri":
		return FormatCAdES, nil
	case "xades", "xadestri":
		return FormatXAdES, nil
	case "pades", "padestri":
		return FormatPAdES, nil
	case "cades-asic-s", "cades-asic-s-tri":
		return FormatCAdESASiCS, nil
	case "xades-asic-s", "xades-asic-s-tri":
		return FormatXAdESASiCS, nil
	case "facturae", "facturaetri", "factura-e":
		return FormatFacturaE, nil
	case "none", "nonetri":
		return FormatNONE, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnsupportedFormat, s)
}

// Operation is the sub-operation of a request (the `cop` parameter).
type Operation string

// The sub-operations.
const (
	OpSign        Operation = "sign"
	OpCoSign      Operation = "cosign"
	OpCounterSign Operation = "countersign"
)

// ParseOperation maps `sign`, `cosign` or `countersign` (any case) to its Operation. Anything
// else wraps [ErrUnsupportedOperation].
func ParseOperation(s string) (Operation, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sign":
		return OpSign, nil
	case "cosign":
		return OpCoSign, nil
	case "countersign":
		return OpCounterSign, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnsupportedOperation, s)
}
