#!/usr/bin/env node
'use strict';
// xadesjs SignedXml.Verify() for every ds:Signature of an XML document: every Reference digest
// (SignedProperties included) and the SignatureValue, with the key of the signature's first
// KeyInfo certificate. When xadesjs cannot load a signature's XAdES properties, the same
// Verify() of its base library xmldsigjs is used (said in the detail).
// Usage: node xades.js FILE [--detached DATA]
// Prints "PASS name: detail" / "FAIL name: detail" lines, then "COUNT n" (ds:Signature elements).
const fs = require('node:fs');
const nodeCrypto = require('node:crypto');
const xpath = require('xpath');
const { DOMParser, XMLSerializer } = require('@xmldom/xmldom');
const xadesjs = require('xadesjs');
const xmldsigjs = require('xmldsigjs');

xadesjs.setNodeDependencies({ DOMParser, XMLSerializer, xpath });
xadesjs.Application.setEngine('NodeJS', nodeCrypto.webcrypto);

const DS = 'http://www.w3.org/2000/09/xmldsig#';
const CURVES = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

let failed = false;
const out = (ok, name, detail) => {
  if (!ok) failed = true;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${String(detail).replace(/\s+/g, ' ').slice(0, 2000)}`);
};

function elements(node, acc = []) {
  for (let c = node.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === 1) {
      acc.push(c);
      elements(c, acc);
    }
  }
  return acc;
}

const child = (el, ns, name) => Array.from(el.childNodes).find((n) => n.nodeType === 1 && n.namespaceURI === ns && n.localName === name);
const idOf = (el) => el.getAttribute('Id') || el.getAttribute('ID') || el.getAttribute('id') || '';

function sameDocumentId(uri) {
  if (!uri || !uri.startsWith('#')) return null;
  const m = /^#xpointer\(id\(['"](.+)['"]\)\)$/.exec(uri);
  return m ? m[1] : uri.slice(1);
}

// firstCertificate returns the node:crypto X509Certificate of the signature's first
// KeyInfo/X509Data/X509Certificate, or null.
function firstCertificate(sig) {
  const ki = child(sig, DS, 'KeyInfo');
  if (!ki) return null;
  for (const xd of Array.from(ki.childNodes).filter((n) => n.nodeType === 1 && n.namespaceURI === DS && n.localName === 'X509Data')) {
    const c = child(xd, DS, 'X509Certificate');
    if (c) return new nodeCrypto.X509Certificate(Buffer.from(c.textContent.replace(/\s+/g, ''), 'base64'));
  }
  return null;
}

(async () => {
  const args = process.argv.slice(2);
  let file = null;
  let detached = null;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--detached') detached = fs.readFileSync(args[++i]);
    else file = args[i];
  }
  const xml = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  const doc = xadesjs.Parse(xml);
  const all = elements(doc);
  const sigs = all.filter((e) => e.namespaceURI === DS && e.localName === 'Signature');
  if (sigs.length === 0) out(false, 'document', 'no ds:Signature element');
  for (let k = 0; k < sigs.length; k++) {
    const name = `sig${k}`;
    const sig = sigs[k];
    try {
      const notes = [];
      let sx;
      try {
        sx = new xadesjs.SignedXml(doc);
        sx.LoadXml(sig);
      } catch (e) {
        sx = new xmldsigjs.SignedXml(doc);
        sx.LoadXml(sig);
        notes.push(`xmldsigjs core (xadesjs cannot load the XAdES properties: ${e.message})`);
      }
      // References that xmldsigjs does not resolve by itself: external URIs (the detached data)
      // and same-document targets inside another ds:Signature (a countersignature covers its
      // parent's ds:SignatureValue), taken only when their Id is unique in the document.
      sx.contentHandler = async (ref) => {
        const uri = ref.Uri;
        if (uri && !uri.startsWith('#')) {
          if (!detached) throw new Error(`external reference "${uri}" and no detached data`);
          return detached;
        }
        const id = sameDocumentId(uri);
        if (!id) return null;
        const hits = all.filter((e) => idOf(e) === id);
        if (hits.length !== 1) return null;
        let inOther = false;
        for (let p = hits[0].parentNode; p; p = p.parentNode) {
          if (p === sig) return null;
          if (p.nodeType === 1 && p.namespaceURI === DS && p.localName === 'Signature') inOther = true;
        }
        if (!inOther) return null;
        notes.push(`#${id} resolved inside another ds:Signature`);
        return hits[0];
      };
      // The key: the first KeyInfo certificate, imported for the SignatureMethod's algorithm
      // (xmldsigjs cannot derive an ECDSA curve from a certificate by itself).
      let key;
      let keyDesc = 'KeyInfo key';
      const cert = firstCertificate(sig);
      if (cert) {
        const alg = Object.assign({}, sx.Algorithm);
        const pk = cert.publicKey;
        if (/^ECDSA$/i.test(alg.name)) {
          alg.namedCurve = CURVES[(pk.asymmetricKeyDetails || {}).namedCurve];
          if (!alg.namedCurve) throw new Error(`unsupported EC key in the KeyInfo certificate for ${alg.name}`);
        }
        key = await nodeCrypto.webcrypto.subtle.importKey('spki', pk.export({ type: 'spki', format: 'der' }), alg, true, ['verify']);
        sx.Algorithm = alg;
        keyDesc = `key of the first KeyInfo certificate "${cert.subject.replace(/\n/g, ', ')}"`;
      }
      const ok = await sx.Verify(key);
      out(ok, name, ok
        ? `${sx.XmlSignature.SignedInfo.References.Count} reference(s) and SignatureValue verify (${keyDesc})${notes.length ? '; ' + [...new Set(notes)].join('; ') : ''}`
        : `Verify() returned false (${keyDesc})`);
    } catch (e) {
      out(false, name, e && e.message ? e.message : String(e));
    }
  }
  console.log(`COUNT ${sigs.length}`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL xades.js: ${(e && e.stack ? e.stack.split('\n').slice(0, 2).join(' ') : String(e))}`);
  process.exit(1);
});
