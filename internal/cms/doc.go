// Package cms reads and writes the CMS (RFC 5652) structures of CAdES signatures at the byte
// level, with nothing but encoding/asn1 and cryptobyte.
//
// The reader ([ParseSignedData]) accepts DER and BER (indefinite lengths, segmented OCTET
// STRINGs, non-minimal lengths), bounded by [MaxDepth], [MaxElements] and
// [MaxCounterSignatureDepth]. It keeps every existing SignerInfo, certificate and CRL as encoded
// (converted to definite lengths only when the input was not) and references the encapsulated
// content instead of copying it.
//
// The writer ([Elem], [SignedData.Encode]) emits DER: definite minimal lengths, SET OF members
// sorted, certificates de-duplicated. It computes the final size first and allocates the
// output once, so a signature embedding a large document costs one copy of it.
//
// Higher-level CAdES building (signed attributes, SignerInfo assembly) lives in formats/cades,
// which PAdES reuses.
package cms
