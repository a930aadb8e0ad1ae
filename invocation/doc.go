// Package invocation writes the afirma:// URLs that start the @firma signing apps (AutoFirma,
// the Android and iOS apps) and reads their results back through the intermediate server
// (package relay).
//
// A [Request] describes one operation of the protocol-invocation specification (sign, cosign,
// countersign, batch, selectcert, save, load, signandsave, getlog); [Request.URL] writes its URL
// with the [Common] parameters (ver, jvc, mcv, id, key, cipher, stservlet, appname, aw). Values
// are percent-encoded like the reference page's encodeURIComponent, Base64 values are padded
// URL-safe Base64 and properties are Java properties text. [WebSocketURL] and [ServiceURL] write
// the URLs that open a WebSocket or socket session; [Parse] reads any of these URLs back.
//
// [Client] runs the intermediate-server flow the reference page runs: [Client.Prepare] picks a
// result id and a key (DES, plus AES with Client.AES), writes the URL, and when it is longer than
// MaxURLLength uploads the operation's XML document ([URL.XML]), ciphered, to StorageService and
// returns the short fileid URL ([FileIDURL]) instead. Open the URL on the user's device, or
// show it as a QR code for a phone (this package does not render QR codes). [Client.Wait] then
// polls RetrieveService with backoff until the app stores its result, understanding "err-06"
// (not yet), "#WAIT" (still working), "CANCEL", "err-NN:=..." and "SAF_..." errors, and
// [ParseResult] splits and deciphers "CERT|SIGNATURE[|EXTRA]", the batch "RESULT[|CERT]" and the
// other result forms.
package invocation
