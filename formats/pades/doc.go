// Package pades is the PAdES engine of trifirma: it signs PDF documents in three phases,
// wire-compatible with the Cliente @firma triphase server (afirma-protocol.md §2.5, §5.4).
//
// # Phases
//
// [New] returns an [Engine] implementing [trifirma.Engine]. Sign and co-sign are the same
// operation (the PAdES client always sends cop=sign: co-signing a PDF is signing it again);
// countersign wraps [trifirma.ErrUnsupportedOperation].
//
//   - Presign builds the incremental update that carries the new signature (signature
//     dictionary, field and widget, appearance, AcroForm, cross-reference and trailer) and
//     returns one firma (Id = SignatureId or a random UUID) with PRE = the DER signed
//     attributes of the embedded CMS over the digest of the ByteRange, NEED_PRE=true, TIME
//     (Java epoch milliseconds) and PID (Base64 of the trailer /ID array as text,
//     "[<hex><hex>]"), exactly the reference's keys.
//   - Postsign rebuilds the byte-identical revision from the document, TIME, PID, the extra
//     parameters and the chain, recomputes the digest and the signed attributes and refuses
//     (wrapping [trifirma.ErrInvalidSession]) when they differ from PRE; it verifies PK1, adds
//     an optional signature time-stamp ([Config].TSA), assembles the detached CMS with package
//     cades (no second CMS writer) and writes it into /Contents of the update. The output is
//     the original bytes followed by the update: [Engine.Postsign] copies them once into one
//     buffer of the final size, [Engine.PostsignIncremental] returns them as a [Signed] value
//     (io.ReaderAt, io.WriterTo) without copying the document at all.
//
// # Cost
//
// Each phase reads the document's cross-reference and the few objects it needs (catalog, form,
// the pages it touches, found through the page tree's /Count), hashes the ByteRange once,
// straight from the caller's document, and builds the update in memory. Postsign verifies PK1
// once, before reading the document, and checks what it wrote by reading back the update's own
// cross-reference section (not the whole output). The signed attributes with a zero digest and
// the CMS size of a signer are cached per engine, since presign and postsign of one signature
// compute them from the same inputs. The checks that compare revisions (modified form, shadow
// attack) run in presign; postsign relies on PRE, which commits to the very bytes presign
// accepted. Benchmarks in bench_test.go report each phase as a multiple of one SHA-256 pass
// over the document and its peak heap (TestPeakHeap bounds it).
//
// The embedded CMS uses the cades.ProfilePAdES attributes: content-type, message-digest,
// signing-certificate-v2 (v1 for SHA-1), and the policy (package policy, expPolicy=FirmaAGE),
// commitment and role attributes; never signing-time (the time is /M), content-hints or
// signer-location (/Location). /SubFilter is ETSI.CAdES.detached by default, as in the
// reference, or adbe.pkcs7.detached; a policy or profile=baseline forces the ETSI one.
//
// # PDF handling
//
// The document is read with internal/pdf, a focused reader over io.ReaderAt that reads only the
// cross-reference and the objects it needs (pdfcpu v0.15.0 loads every object and writes the
// cross-reference in its own configured style, which would defeat both the memory budget and
// "write the update in the form the file uses"). Classic tables, xref streams, object streams,
// hybrid files, /Prev chains, linearized files, any end-of-line convention and damaged
// cross-references (rebuilt in memory; the update then carries a complete cross-reference)
// are supported; data after the last %%EOF, a missing %%EOF, truncated and non-PDF input are
// refused with [trifirma.ErrInvalidDocument]. Encrypted documents (standard handler, RC4 and
// AES, revisions 2–6) are signed with ownerPassword or userPassword: the objects of the update
// are encrypted with the document's key, /Contents is not. Without a password the engine
// answers the reference's confirmation pdfpasswordprotected, with a wrong one pdfbadpassword.
//
// # Extra parameters
//
// signReason (/Reason), signatureProductionCity (/Location), signerContact (/ContactInfo),
// signatureSubFilter, signReservedSize (bytes; default: the exact size of this CMS plus room
// for a time-stamp when one is configured), certificationLevel (1–3: DocMDP certification, which
// must be the first signature), signatureField (sign an existing empty field),
// signaturePositionOnPage{LowerLeftX,LowerLeftY,UpperRightX,UpperRightY} with signaturePage or
// signaturePages (numbers from 1, negative from the end, ranges a-b, "all", "append"; default
// the last page), signatureRotation (multiples of 90), layer2Text with the reference's
// $$SUBJECTCN$$-style tokens and $$SIGNDATE=pattern$$, layer2FontFamily/Size/Style/Color,
// signatureRubricImage (JPEG), obfuscateCertText and obfuscationMask, doNotUseCertChainOnPostSign,
// ownerPassword/userPassword, allowSigningCertifiedPdfs (signingCertifiedPdf),
// allowCosigningUnregisteredSignatures (signingPdfWithUnregisteredSigns), checkSignatures with
// allowModifiedForm (signingModifiedPdfForm), allowShadowAttack and pagesToCheckShadowAttack
// (pdfShadowAttackSuspect, see below), policy keys and tsaURL (through [Config].TSA).
//
// # Shadow attacks
//
// A document changed after its newest signature so that its pages show something else (a
// "shadow attack": content hidden in the signed revision and revealed by a later incremental
// update, or replaced by one) is refused with the reference's pdfShadowAttackSuspect
// confirmation; allowShadowAttack=true signs it anyway, allowShadowAttack=false refuses it for
// good. The reference renders pages and compares the images; this engine compares structure:
// the number of pages and, on the first pagesToCheckShadowAttack pages (10 by default, "all";
// capped by [Config].MaxShadowAttackPages, 10 by default), each page's boxes and rotation and,
// deeply and by value, everything the page dictionary reaches (content streams, resources,
// annotations and their appearance streams) and its inherited resources. Updates that leave the
// checked pages alone (metadata, a document security store, a later signature) pass; field
// values are left to checkSignatures/allowModifiedForm.
//
// # Differences from the reference
//
//   - A page number outside the document is an error (the reference clamps it); a rectangle
//     entirely outside the page is an error, one that overflows the top or right edge is
//     clipped, as in the reference.
//   - A signature shown on several pages ("all", lists, ranges) is one signature field whose
//     widget is on the first listed page; the other pages show the same appearance through
//     locked, read-only stamp annotations (validators such as poppler report a field with
//     several widget kids as unsigned).
//   - No XMP signature history, no layer-4 text, no added images or attachments, no
//     pdfVersion/compressPdf rewriting: the update only adds what the signature needs.
//   - The reference's 27000-byte default /Contents is replaced by the exact size of the CMS.
//   - /M and dates in the appearance use [Config].Location (Europe/Madrid by default).
package pades
