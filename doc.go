// Package trifirma is the shared vocabulary of a server-side triphase signing library that is
// wire-compatible with the Spanish government's Cliente @firma ecosystem (AutoFirma, the @firma
// mobile apps).
//
// In a triphase signature the private key never leaves the user's device:
//
//  1. presign: the server takes the document, the signer's certificate chain and the format
//     parameters and computes exactly what must be signed (a [TriphaseData] session whose
//     signs carry a PRE value);
//  2. the device computes a PKCS#1 (or ECDSA) signature over each PRE value (PK1);
//  3. postsign: the server verifies each PK1 and assembles the final signature.
//
// This package defines the formats, operations and algorithms, the extra parameters
// ([Params]), the session model ([TriphaseData]) and its sealing ([Sealer]), the [Engine]
// interface every format implements, the errors, and [Sign], which runs the three phases in
// process against any [crypto.Signer]. The engines live in formats/...; the HTTP handlers in
// server, batch and relay.
package trifirma
