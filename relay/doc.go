// Package relay implements the @firma intermediate server: the StorageService and
// RetrieveService through which a web page and a signing app (AutoFirma in "intermediate server"
// mode, the Android and iOS apps) exchange data they cannot pass directly. The page uploads
// oversized invocation parameters (or the app uploads its result) with op=put; the other side
// downloads them once with op=get, polling until they arrive.
//
// [NewStorageService] and [NewRetrieveService] are byte-compatible with the reference services
// (afirma-signature-storage and afirma-signature-retriever) and are usually mounted at their
// reference paths, /afirma-signature-storage/StorageService and
// /afirma-signature-retriever/RetrieveService (see the example). Entries live in a [Store]:
// [MemoryStore] (one process), [DirStore] (a local directory; survives restarts) or the Redis
// store of package redisstore (several instances share one Redis). [OpenStore] picks one from a
// spec string.
//
// # Wire behaviour
//
// Every answer is HTTP 200, "text/plain;charset=utf-8", "Access-Control-Allow-Origin: *". Errors
// are one line "ERR-NN:=<Spanish message>\n" ([WireError]). The checks run in the reference's
// order:
//
//	StorageService                      RetrieveService
//	GET op=check        -> "OK\n"       op missing          -> ERR-00
//	op missing          -> ERR-00       op=check (any verb) -> "OK\n"
//	v missing           -> ERR-20       v missing           -> ERR-20
//	op not "put" (any case) -> ERR-01   op not "get" (any case) -> ERR-01
//	id missing          -> ERR-05       id missing          -> ERR-05
//	id invalid          -> ERR-06       id invalid          -> ERR-06
//	store failure       -> ERR-18       not found/expired/read -> ERR-06
//	stored              -> "OK"         store failure       -> ERR-07
//	                                    found -> payload + "\n", entry deleted
//
// StorageService reads GET parameters from the query string (decoded, first occurrence wins) and
// URL-decodes dat a second time, as the reference does. For every other method it reads the raw
// body like the reference: split on '&' and on the first '=', op, v and id taken verbatim (not
// decoded), the last occurrence wins, dat URL-decoded once ('+' becomes a space, %XX a byte). A
// malformed %-escape in dat answers ERR-07 and stores nothing (the reference fails with HTTP 500).
// RetrieveService reads the query string and, for POST, an application/x-www-form-urlencoded body.
// HEAD on RetrieveService answers 405 instead of consuming an entry.
//
// Ids must be 1 to [MaxIDLength] characters of A-Z, a-z, 0-9, '-' and '_' ([ValidID]); that
// rejects '.', '/' and '\' as the reference does, and anything else a file name should not hold.
// Reference clients generate 20 alphanumeric characters.
//
// # Errors stored as the payload
//
// When a put has no dat (or an empty one), and when the decoded dat is larger than
// [Config.MaxSize], the reference does not refuse the request: it stores the error text
// ("ERR-02:=No se han proporcionado los datos de la operación" or "ERR-07:=Los datos solicitados o
// enviados son inválidos") as the entry and answers "OK". These handlers do the same, on purpose:
// the uploader (the signing app) ignores the answer beyond "OK", while the reader (the web page
// polling RetrieveService) is the party that must learn about the failure — it receives the
// ERR-02/ERR-07 line at its next poll and stops waiting, instead of polling until it times out.
// Each such request is logged at Warn level with the size cap, so operators can see it. Unlike
// the reference, the size cap is on by default ([DefaultMaxSize]) and the body is decoded while it
// streams in, so an oversized upload never costs more memory than the cap.
//
// # Expiry and read-once
//
// Each entry lives [Config.Expiry] (default 60 s, the reference's expTime) and is deleted by the
// read that returns it. An expired entry is indistinguishable from a missing one (ERR-06). The
// reference's debug mode (never delete, never expire) is not offered.
package relay
