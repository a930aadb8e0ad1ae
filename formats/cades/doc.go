// Package cades is the CAdES engine of trifirma: sign, co-sign and countersign CMS signatures in
// three phases, wire-compatible with the Cliente @firma triphase server.
//
// # API for other engines (PAdES)
//
// PAdES builds its embedded CMS with this package; there is no second CMS writer:
//
//	opts, err := cades.OptionsFromParams(params, cades.ProfilePAdES) // policy, roles, commitments
//	opts.Hash, opts.MessageDigest, opts.Signer = alg.Hash, byteRangeDigest, chain[0]
//	pre, err := cades.SignedAttributes(opts)   // DER SET OF: the PRE the device signs
//	...
//	unsigned := []cades.Attribute{}           // optional: cades.TimestampAttribute(ctx, tsaClient, pk1)
//	cmsDER, err := cades.AssembleDetached(&cades.DetachedOptions{
//		SignedAttrs: pre, Signature: pk1, Algorithm: alg, Chain: chain, Unsigned: unsigned})
//
// ProfilePAdES writes content-type, message-digest, signing-certificate-v2 (v1 with SHA-1
// unless SigningCertificateV2), and the policy, commitment and role attributes; never
// signing-time, content-hints, signer-location or mime-type. [ParseSignedAttributes] parses a
// PRE strictly (for postsign checks). Low-level DER/BER reading and writing is in internal/cms.
//
// # Engine
//
// [New] returns an [Engine] implementing [trifirma.Engine]. The session follows the reference
// (afirma-protocol.md §2.3):
//
//   - sign: one firma, Id = extra parameter SignatureId (a random UUID when absent), params PRE
//     (standard Base64 of the DER signed attributes), NEED_PRE=true and, for mode=implicit,
//     NEED_DATA=true. The default mode is explicit (detached), as in the reference.
//   - cosign: the same, with NEED_DATA=true. The message digest is computed from the embedded
//     content, or taken from an existing signer that used the same digest algorithm when the
//     signature is detached.
//   - countersign: one firma per target SignerInfo (target=leafs, the default: the SignerInfos
//     without countersignatures; target=tree: all of them), Id = standard Base64 of SHA-256 of
//     the target's signature value, signid = SignatureId.
//
// The signing time travels only inside PRE (the signing-time attribute); postsign rebuilds
// nothing from the clock.
//
// Postsign never assembles a signature that would not verify: it parses every PRE strictly
// (DER order, single-instance attributes, content-type and message-digest, the
// signing-certificate must identify the signer), re-verifies every PK1 against its PRE, checks
// for implicit sign and co-sign that the digest of the content it embeds equals the PRE's
// message-digest, and for countersignatures that it equals the digest of the target's
// signature value. A detached (explicit) sign postsign never reads the document.
//
// # Differences from the reference
//
//   - Co-signing adds the new digest algorithm to SignedData.digestAlgorithms (the reference
//     leaves the set unchanged).
//   - signatureAlgorithm is rsaEncryption for every RSA SignerInfo (the reference writes
//     sha*WithRSAEncryption for co- and countersignatures) and ecdsa-with-SHA* without
//     parameters for ECDSA (RFC 5758).
//   - SHA-2 AlgorithmIdentifiers omit parameters (RFC 5754); SHA-1 keeps NULL.
//   - Certificates are merged without duplicates; all sets are written in DER order.
//   - Several commitment-type indications are values of one attribute, not repeated attributes.
//   - Co-signing or countersigning a long-term signature (archive time-stamps, certificate or
//     revocation values, CAdES-C/X time-stamps) needs allowSignLTSignature=true
//     ([trifirma.NeedSigningLTS]).
//   - A tsaURL extra parameter is honoured only through [Config].TSA (the server chooses which
//     time-stamping services it contacts); with the zero Config it is an error.
//   - Policies are never downloaded; see package policy.
package cades
