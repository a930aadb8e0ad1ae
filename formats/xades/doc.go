// Package xades is the XAdES [trifirma.Engine]: XML signatures (XAdES-BES/EPES, namespace
// 1.3.2) that verify in xmlsec1/libxml2, Apache Santuario/DSS/@firma and xadesjs, made in the
// triphase protocol of Cliente @firma.
//
// # Variants
//
// The extra parameter "format" selects the variant, as in the reference:
//
//   - "XAdES Enveloping" (default): the data is inside a ds:Object of the signature (XML data
//     as XML, anything else in Base64 with the base64 transform).
//   - "XAdES Detached" (internally detached): <AFIRMA><CONTENT Id="CONTENT-…">data</CONTENT>
//     <ds:Signature/></AFIRMA>.
//   - "XAdES Enveloped": the signature is inserted into the XML document (last child of the
//     root, or of the element selected by insertEnvelopedSignatureOnNodeByXPath); the data
//     reference applies enveloped-signature, the XPath filter not(ancestor-or-self::ds:Signature)
//     (so that co-signatures do not break it) and C14N.
//   - "XAdES Externally Detached": the data is referenced by the extra parameter uri and
//     digested from the document given.
//
// Co-signing adds a parallel ds:Signature over the same data (enveloping signatures get their
// own copy of the data object, and both are wrapped in <AFIRMA> as the reference does).
// Counter-signing adds, inside the xades:UnsignedSignatureProperties of each target, a
// xades:CounterSignature whose signature references the target's ds:SignatureValue (Type
// http://uri.etsi.org/01903#CountersignedSignature); target=leafs (default) or tree.
//
// # Signed properties
//
// SigningTime (from the request time), SigningCertificateV2 (SigningCertificate v1 with SHA-1
// or signingCertificateV2=false), SignaturePolicyIdentifier (policy parameters, expPolicy
// presets from package policy), SignatureProductionPlace(V2), SignerRole(V2),
// DataObjectFormat and CommitmentTypeIndication. The V2 elements are those of EN 319 132-1,
// defined in the 1.3.2 namespace (XAdES01903v132-201601.xsd).
//
// # Session
//
// Presign returns one firma per new ds:Signature, in document order, each with PRE = the
// canonical SignedInfo, NEED_PRE=true and, for ECDSA, PK1_DECODED=true; the first also carries
// BASE (the signed document with ====REPLACEME_i==== in each new SignatureValue) and ENCODING
// (the charset of BASE and of the output). BASE leaves out the content it can rebuild from the
// document: ranges of the document (====REPLACE-j-Rs-e====) and Base64 data
// (====REPLACE-j-B64====), so sessions stay small for large documents. Sessions are sealed by
// the caller, so BASE cannot be altered; Postsign nevertheless re-parses the assembled output
// and verifies, for every new signature, that SignedInfo canonicalises to PRE, that each
// reference digest matches the referenced content and that the SignatureValue is the device's
// value, and never returns a signature that fails these checks.
//
// ECDSA values arrive as DER (PK1) and are written as r‖s, each left-padded to the curve size
// (the reference pads to the longer of r and s, which yields invalid values now and then).
//
// # Canonicalisation
//
// All canonical bytes come from internal/c14n over internal/xmldom, which reproduce libxml2
// byte for byte (differential tests against xmllint and xmlsec1). When the place of a new
// signature inherits xml: attributes (xml:lang, xml:space, xml:base) and the caller did not
// choose canonicalizationAlgorithm, the signature uses exclusive canonicalisation for its
// SignedInfo, SignedProperties and KeyInfo: inclusive C14N copies those attributes into each
// canonicalised subtree and xmldsigjs (xadesjs) does not, so inclusive signatures there fail in
// JavaScript although they are correct.
//
// # Safety
//
// Inputs are parsed without DTD or entity processing and within size, depth and element
// limits ([Config]); co-sign and counter-sign inputs whose references do not resolve to
// exactly one element, or with duplicate Ids on XML-DSig/XAdES elements, are refused
// (signature wrapping), and so is a co-signature that would invalidate an existing enveloped
// signature that does not exclude other signatures.
package xades
