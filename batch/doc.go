// Package batch implements batch signing: one PIN entry, many signatures. It is wire-compatible
// with the two batch protocols of the Cliente @firma ecosystem:
//
//   - the JSON batch of current clients (AutoFirma ≥ 1.8, the mobile apps), served by
//     [Signer.JSONPresigner] and [Signer.JSONPostsigner] at
//     /afirma-server-triphase-signer/presign and /postsign;
//   - the XML batch of the seed specification (older clients), served by [Signer.XMLPresigner]
//     and [Signer.XMLPostsigner] at /BatchPresigner and /BatchPostsigner, disabled unless
//     [Config].XMLEnabled (legacy.xmlBatchEnabled; 503 otherwise).
//
// Both codecs ([ParseJSON], [ParseXML]) decode to one model, [Batch] with [Item]s, run by a
// [Signer]: [Signer.Presign] resolves every entry's document and presigns it, [Signer.Postsign]
// takes the session the device signed in one go and assembles and saves every signature,
// reporting per entry a [Result] with the reference's codes. Each entry goes through exactly
// the same presign.Presigner and postsign.Postsigner as a single signature, so the batch layer
// holds no format logic: the engine is picked by the entry's format, the session of every
// entry is sealed (and bound to its format, operation, algorithm, signer certificate and
// parameters, SignatureId=<entry id> included) and every PK1 is verified before any engine
// assembles anything.
//
// # State between the phases
//
// No server-side state is kept: the client sends the batch definition again with the signed
// session, every entry's firmas carry their own seal, and documents are resolved again in
// postsign (engines check them against what was presigned). Any instance of a cluster sharing
// the sealing key can run either phase.
//
// # Data sources
//
// JSON datareferences are resolved by the configured docmanager.Manager (by default
// docmanager.Inline: the reference is the Base64 document). XML datasources are Base64, plain
// text (the seed's discouraged third mode; [Config].DisableText refuses it) or http/https URLs
// downloaded by the server only when a [fetch.Fetcher] is configured: only from its allowed
// prefixes and never to loopback, private, link-local or reserved addresses unless explicitly
// allowed (the resolved address is checked, also after redirects), with size and time caps.
// file: and ftp: sources are refused. Every document is capped at [Config].MaxDocSize.
//
// # Saving
//
// JSON batch signatures are stored by the document manager (StoreDocument, with "format"
// added; docmanager.Rollbacker undoes them). XML batch entries name a signsaver class, looked
// up in a [SaverRegistry] (package batch/saver provides the reference's SignSaverFile and
// SignSaverHttpPost, confined to an output directory and to allowed URLs). Go callers may set
// [Item].Saver, or save themselves: entries with nothing to save them end
// [DoneButNotSavedYet] with the signature in the result.
//
// # Modes
//
// With stoponerror=false every entry is independent: each is postsigned and saved as soon as
// it is ready, and reported ERROR_PRE, ERROR_POST, DONE_AND_SAVED or DONE_BUT_ERROR_SAVING.
//
// With stoponerror=true the batch is transactional, as the seed specification describes. In
// presign the first failing entry is reported ERROR_PRE and all others SKIPPED, and no session
// is returned. In postsign all signatures are generated first (kept in memory up to
// [Config].SpoolMemory bytes, then in private temporary files in [Config].TempDir, removed
// before the reply); if one fails it is ERROR_POST, those already generated are
// DONE_BUT_SAVED_SKIPPED and the rest SKIPPED, and nothing is saved. Then they are saved in
// any order; if a save fails it is DONE_BUT_ERROR_SAVING, every completed save is rolled back
// (SAVE_ROLLBACKED) and the saves not attempted are DONE_BUT_SAVED_SKIPPED. A save that cannot
// be undone (HTTP POST, a document manager without Rollbacker) stays DONE_AND_SAVED with a
// description saying so. If the client goes away during the saves, completed saves are rolled
// back too.
//
// Entries run on a bounded worker pool ([Config].Concurrency). Each phase is bounded by
// [Config].Timeout, lowered by the batch's concurrenttimeout; entries the deadline interrupts
// are reported with a description naming the limit. The request context cancels all work when
// the client goes away. In a non-transactional batch, heap use is independent of the number of
// entries beyond the results themselves (documents are resolved inside the workers and
// signatures saved as they are made).
//
// # Limits
//
// [Config].MaxDocuments (entries), MaxBatchSize (decoded JSON definition), [MaxXMLBatchSize]
// (the seed's 1,024 KB for XML definitions), MaxReferenceSize (characters of a datareference
// or datasource), MaxDocSize (each document) and MaxBodySize (request body). Whole-batch
// errors answer HTTP 400 with the reference's texts (limits: "El lote de firma no cumple con
// los requisitos establecidos en servidor"), 413 for oversized bodies, 500 for processing
// failures; every answer carries Access-Control-Allow-Origin and OPTIONS preflights are
// answered.
//
// # Differences from the reference
//
//   - A batch without a top-level format works: entries use their own format and the presign
//     reply's td.format is the first presigned entry's (the reference answers 500). An entry
//     with no format at all is ERROR_PRE, not a server error.
//   - The misspelt SHA284withECDSA of the reference is accepted as SHA384withECDSA; every name
//     the single-signature service accepts is accepted too, composed with the signer's key type.
//     A batch without algorithm is refused (400) instead of failing every entry.
//   - Entries are bound to the session by the seal (PK1 always verified against PRE), not only
//     by the optional HMAC verification codes (which are still added and checked when a
//     verification key is configured).
//   - The reference's serial mode, whose log can show NOT_STARTED for entries that failed or
//     were saved, is not reproduced: results always say what happened. NOT_STARTED never
//     appears after a complete run.
//   - Per-entry parameters get the same server-side normalisation as single signatures
//     (validatePkcs1 removed, headless=true) plus SignatureId; `profile` is not removed.
//   - The reference reports SAVE_ROLLBACKED even when the manager cannot roll back; here
//     such entries stay DONE_AND_SAVED with a description.
//   - Duplicate entry ids, unknown XML elements and repeated elements are refused; the XML
//     singlesign also accepts a lowercase id attribute (the seed's own prose uses it).
//   - JSON concurrenttimeout is honoured (it can only lower the configured timeout).
//   - Request values with %XX escapes are percent-decoded; result descriptions and XML
//     attributes are escaped properly.
//   - When an engine gives an entry's session a format attribute, it travels in the
//     batch-private firma parameter [ParamTDFormat] (authenticated by the seal).
package batch
