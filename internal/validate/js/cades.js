#!/usr/bin/env node
'use strict';
// pkijs SignedData.verify() for every SignerInfo of a CMS SignedData and, recursively, for every
// countersignature (unsigned attribute 1.2.840.113549.1.9.6), whose signed data is the
// signature value of the SignerInfo it counter-signs.
// Usage: node cades.js FILE [--detached DATA] [--ca ROOTS.pem]
// Prints "PASS name: detail" / "FAIL name: detail" lines, then "COUNT n" (signatures checked).
const fs = require('node:fs');
const { webcrypto } = require('node:crypto');
const asn1js = require('asn1js');
const pkijs = require('pkijs');

pkijs.setEngine('node', new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto }));

const OID_DATA = '1.2.840.113549.1.7.1';
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_COUNTERSIGNATURE = '1.2.840.113549.1.9.6';
const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';

let failed = false;
const out = (ok, name, detail) => {
  if (!ok) failed = true;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${String(detail).replace(/\s+/g, ' ')}`);
};

function readInput(file) {
  const raw = fs.readFileSync(file);
  const text = raw.toString('latin1');
  const m = /-----BEGIN [A-Z0-9 ]+-----([\s\S]*?)-----END/.exec(text);
  return m ? Buffer.from(m[1].replace(/\s+/g, ''), 'base64') : raw;
}

function readRoots(file) {
  const text = fs.readFileSync(file, 'latin1');
  const certs = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) {
    const der = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
    certs.push(new pkijs.Certificate({ schema: asn1js.fromBER(der).result }));
  }
  return certs;
}

function toArrayBuffer(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

// verifyOne runs pkijs verify for signer 0 of sd and reports it.
async function verifyOne(sd, index, data, roots, name) {
  try {
    const res = await sd.verify({
      signer: index,
      data,
      checkChain: roots.length > 0,
      trustedCerts: roots,
      extendedMode: true,
    });
    const ok = res.signatureVerified === true && (roots.length === 0 || res.signerCertificateVerified === true);
    out(ok, name, ok
      ? `signature verified${roots.length ? ', chain to the roots verified' : ' (no roots: chain not checked)'}`
      : `signatureVerified=${res.signatureVerified} signerCertificateVerified=${res.signerCertificateVerified} ${res.message || ''}`);
  } catch (e) {
    const msg = e && (e.message || (e.signatureVerified !== undefined && `signatureVerified=${e.signatureVerified} ${e.message || ''}`) || JSON.stringify(e));
    out(false, name, msg || String(e));
  }
}

// countersignatures verifies the countersignatures of signerInfo (recursively).
async function countersignatures(signerInfo, certificates, roots, name) {
  let n = 0;
  const attrs = (signerInfo.unsignedAttrs && signerInfo.unsignedAttrs.attributes) || [];
  for (const attr of attrs) {
    if (attr.type !== OID_COUNTERSIGNATURE) continue;
    for (const value of attr.values) {
      const k = n++;
      const csName = `${name}.countersignature[${k}]`;
      let cs;
      try {
        cs = new pkijs.SignerInfo({ schema: value });
      } catch (e) {
        out(false, csName, `unparsable countersignature SignerInfo: ${e.message || e}`);
        continue;
      }
      // RFC 5652 section 11.4 forbids content-type in a countersignature, but pkijs's verify()
      // insists on finding one among the signed attributes before it goes on. Give it a marker
      // attribute in the parsed list only: the signature is still verified over the original
      // DER of the signed attributes (signedAttrs.encodedValue, kept from the input), and the
      // message digest is still compared by pkijs.
      const signedAttrs = cs.signedAttrs;
      if (signedAttrs && !signedAttrs.attributes.some((a) => a.type === OID_CONTENT_TYPE)) {
        const before = Buffer.from(signedAttrs.encodedValue).toString('hex');
        signedAttrs.attributes.push(new pkijs.Attribute({ type: OID_CONTENT_TYPE, values: [new asn1js.ObjectIdentifier({ value: OID_DATA })] }));
        if (Buffer.from(signedAttrs.encodedValue).toString('hex') !== before) throw new Error('pkijs re-encoded the signed attributes');
      }
      // A SignedData of its own around the countersignature: detached, and the data it
      // signs is the parent's signature value (RFC 5652 section 11.4).
      const csd = new pkijs.SignedData({
        version: 1,
        encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID_DATA }),
        digestAlgorithms: [cs.digestAlgorithm],
        certificates,
        signerInfos: [cs],
      });
      const parentValue = signerInfo.signature.valueBlock.valueHexView;
      await verifyOne(csd, 0, toArrayBuffer(Buffer.from(parentValue)), roots, csName);
      total++;
      await countersignatures(cs, certificates, roots, csName);
    }
  }
}

let total = 0;

(async () => {
  const args = process.argv.slice(2);
  let file = null;
  let detached = null;
  let roots = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--detached') detached = fs.readFileSync(args[++i]);
    else if (args[i] === '--ca') roots = readRoots(args[++i]);
    else file = args[i];
  }
  const der = readInput(file);
  const asn = asn1js.fromBER(toArrayBuffer(der));
  if (asn.offset === -1) throw new Error(`not BER/DER: ${asn.result.error}`);
  const ci = new pkijs.ContentInfo({ schema: asn.result });
  if (ci.contentType !== OID_SIGNED_DATA) throw new Error(`ContentInfo of type ${ci.contentType}, not SignedData`);
  const sd = new pkijs.SignedData({ schema: ci.content });
  const attached = sd.encapContentInfo.eContent !== undefined;
  if (!attached && !detached) throw new Error('detached signature (no eContent) and no --detached data');
  if (attached && detached) throw new Error('attached signature (eContent present) but --detached data given');
  const data = attached ? new ArrayBuffer(0) : toArrayBuffer(detached);
  if (sd.signerInfos.length === 0) out(false, 'signedData', 'no SignerInfo');
  for (let i = 0; i < sd.signerInfos.length; i++) {
    await verifyOne(sd, i, data, roots, `signer[${i}]`);
    total++;
    await countersignatures(sd.signerInfos[i], sd.certificates || [], roots, `signer[${i}]`);
  }
  console.log(`COUNT ${total}`);
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL cades.js: ${(e && e.stack ? e.stack.split('\n').slice(0, 2).join(' ') : String(e))}`);
  process.exit(1);
});
