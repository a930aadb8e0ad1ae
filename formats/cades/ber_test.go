package cades_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/cms"
	"github.com/trifirma/trifirma/internal/testpki"
	"github.com/trifirma/trifirma/internal/validate"
)

// toBER re-encodes DER the way Java streams write CMS: the ContentInfo, SignedData, the
// encapsulated content and the set containers with indefinite lengths, long OCTET STRINGs in
// 1000-byte segments; certificates and SignerInfos stay DER.
func toBER(der []byte) []byte {
	var out []byte
	var walk func(b []byte, depth int, full bool) []byte
	walk = func(b []byte, depth int, full bool) []byte {
		tag := b[0]
		l, hdr := int(b[1]), 2
		if l >= 0x80 {
			k := l & 0x7f
			l = 0
			for i := 0; i < k; i++ {
				l = l<<8 | int(b[2+i])
			}
			hdr = 2 + k
		}
		content, rest := b[hdr:hdr+l], b[hdr+l:]
		switch {
		case tag&0x20 != 0 && (full || depth <= 3):
			out = append(out, tag, 0x80)
			// Below SignedData only the encapContentInfo (the SEQUENCE at depth 3) is
			// re-encoded further; the members of the sets stay as they are.
			deeper := full || depth < 3 || tag == 0x30
			for len(content) > 0 {
				if deeper {
					content = walk(content, depth+1, full || (depth == 3 && tag == 0x30))
				} else {
					content = walk(content, 99, false)
				}
			}
			out = append(out, 0, 0)
		case tag == 0x04 && l > 1000:
			out = append(out, 0x24, 0x80)
			for len(content) > 0 {
				k := min(1000, len(content))
				out = cms.AppendHeader(out, 0x04, k)
				out = append(out, content[:k]...)
				content = content[k:]
			}
			out = append(out, 0, 0)
		default:
			out = append(out, b[:hdr+l]...)
		}
		return rest
	}
	walk(der, 0, false)
	return out
}

// TestBERInput co-signs and countersigns BER (indefinite-length, segmented) signatures.
func TestBERInput(t *testing.T) {
	pki := testpki.Get(t)
	doc := bytes.Repeat([]byte("BER content "), 1000)
	for _, implicit := range []bool{true, false} {
		der := sign(t, pki.RSA2, trifirma.OpSign, doc, crypto.SHA256, mode(implicit))
		ber := toBER(der)
		if bytes.Equal(ber, der) || bytes.Contains(ber[:4], []byte{0x30, 0x82}) {
			t.Fatal("toBER did not produce indefinite lengths")
		}
		var detached []byte
		if !implicit {
			detached = doc
		}
		check(t, ber, detached, 1) // the validators accept the BER input itself
		co := sign(t, pki.RSA, trifirma.OpCoSign, ber, crypto.SHA256, nil)
		check(t, co, detached, 2)
		cs := sign(t, pki.EC, trifirma.OpCounterSign, toBER(co), crypto.SHA384, nil)
		check(t, cs, detached, 4)
		validate.CAdES(t, cs, validate.Options{Detached: detached, Roots: []*x509.Certificate{pki.Root}, Signers: 4})
		assertSigners(t, cs, 2, 2)
	}
}
