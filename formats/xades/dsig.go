package xades

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/c14n"
	"github.com/trifirma/trifirma/internal/xmldom"
)

// Namespaces and algorithm identifiers.
const (
	NSDS    = "http://www.w3.org/2000/09/xmldsig#"
	NSXAdES = "http://uri.etsi.org/01903/v1.3.2#"

	uriEnveloped  = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	uriBase64     = "http://www.w3.org/2000/09/xmldsig#base64"
	uriXPath      = "http://www.w3.org/TR/1999/REC-xpath-19991116"
	typeObject    = "http://www.w3.org/2000/09/xmldsig#Object"
	typeSignedPr  = "http://uri.etsi.org/01903#SignedProperties"
	typeSignedPr2 = "http://uri.etsi.org/01903/v1.3.2#SignedProperties"
	typeCounter   = "http://uri.etsi.org/01903#CountersignedSignature"
	xpathNoSigs   = "not(ancestor-or-self::ds:Signature)"
)

// digestURI returns the XML-DSig identifier of a digest.
func digestURI(h crypto.Hash) (string, error) {
	switch h {
	case crypto.SHA1:
		return "http://www.w3.org/2000/09/xmldsig#sha1", nil
	case crypto.SHA256:
		return "http://www.w3.org/2001/04/xmlenc#sha256", nil
	case crypto.SHA384:
		return "http://www.w3.org/2001/04/xmldsig-more#sha384", nil
	case crypto.SHA512:
		return "http://www.w3.org/2001/04/xmlenc#sha512", nil
	}
	return "", fmt.Errorf("%w: digest %v has no XML-DSig identifier", trifirma.ErrUnsupportedAlgorithm, h)
}

// signatureURI returns the SignatureMethod identifier of an algorithm (§5.2 of the protocol
// notes: rsa-sha1 in the 2000/09 namespace, the others in xmldsig-more).
func signatureURI(a trifirma.SignatureAlgorithm) (string, error) {
	var name string
	switch a.Hash {
	case crypto.SHA1:
		name = "sha1"
	case crypto.SHA256:
		name = "sha256"
	case crypto.SHA384:
		name = "sha384"
	case crypto.SHA512:
		name = "sha512"
	default:
		return "", fmt.Errorf("%w: %s", trifirma.ErrUnsupportedAlgorithm, a)
	}
	switch a.Key {
	case trifirma.KeyRSA:
		if a.Hash == crypto.SHA1 {
			return "http://www.w3.org/2000/09/xmldsig#rsa-sha1", nil
		}
		return "http://www.w3.org/2001/04/xmldsig-more#rsa-" + name, nil
	case trifirma.KeyECDSA:
		return "http://www.w3.org/2001/04/xmldsig-more#ecdsa-" + name, nil
	}
	return "", fmt.Errorf("%w: %s", trifirma.ErrUnsupportedAlgorithm, a)
}

// transform is one ds:Transform.
type transform struct {
	Algorithm string
	// Prefixes is the exclusive canonicalisation InclusiveNamespaces PrefixList.
	Prefixes []string
	// XPath is the expression of an XPath filter.
	XPath string
}

// reference is a ds:Reference as read from a document or built for one.
type reference struct {
	ID, URI, Type string
	Transforms    []transform
	Digest        crypto.Hash
	DigestValue   []byte
	node          *xmldom.Node
}

var errUnsupportedRef = errors.New("unsupported reference")

// resolver finds the elements carrying an identifier.
type resolver func(id string) []*xmldom.Node

// nodeSet is an apex minus excluded subtrees.
type nodeSet struct {
	apex     *xmldom.Node
	excl     []*xmldom.Node
	noSigs   bool // every ds:Signature subtree is excluded
	comments bool
}

func (s *nodeSet) exclude(n *xmldom.Node) bool {
	if s.noSigs && n.Is(NSDS, "Signature") {
		return true
	}
	for _, e := range s.excl {
		if n == e {
			return true
		}
	}
	return false
}

func (s *nodeSet) canonicalize(w io.Writer, alg c14n.Algorithm) error {
	return c14n.Canonicalize(w, s.apex, alg, &c14n.Options{Exclude: s.exclude, NoComments: !s.comments})
}

// text returns the string value of the node-set (for the base64 transform).
func (s *nodeSet) text() string {
	if a := s.apex; a.Kind == xmldom.ElementNode && a.FirstChild != nil && a.FirstChild == a.LastChild &&
		a.FirstChild.Kind == xmldom.TextNode && !s.exclude(a.FirstChild) {
		return a.FirstChild.Data
	}
	var b strings.Builder
	var walk func(*xmldom.Node)
	walk = func(n *xmldom.Node) {
		if s.exclude(n) {
			return
		}
		switch n.Kind {
		case xmldom.TextNode:
			b.WriteString(n.Data)
		case xmldom.ElementNode, xmldom.DocumentNode:
			for c := n.FirstChild; c != nil; c = c.Next {
				walk(c)
			}
		}
	}
	walk(s.apex)
	return b.String()
}

// digestReference computes the digest of ref as a validator does. doc is the document node
// for URI="", sig the ds:Signature holding the reference (for enveloped-signature), resolve
// finds "#id" targets, which must be unique. External URIs wrap errUnsupportedRef.
func digestReference(ref *reference, doc *xmldom.Node, sig *xmldom.Node, resolve resolver, lim xmldom.Limits) ([]byte, error) {
	if !ref.Digest.Available() {
		return nil, fmt.Errorf("%w: reference digest %v", trifirma.ErrUnsupportedAlgorithm, ref.Digest)
	}
	h := ref.Digest.New()
	if err := processReference(h, ref, doc, sig, resolve, lim); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

func processReference(h hash.Hash, ref *reference, doc *xmldom.Node, sig *xmldom.Node, resolve resolver, lim xmldom.Limits) error {
	var set *nodeSet
	switch {
	case ref.URI == "":
		set = &nodeSet{apex: doc}
	case ref.URI == "#xpointer(/)":
		set = &nodeSet{apex: doc, comments: true}
	case strings.HasPrefix(ref.URI, "#"):
		id := ref.URI[1:]
		comments := false
		if strings.HasPrefix(id, "xpointer(id(") && strings.HasSuffix(id, "))") {
			id = strings.Trim(id[len("xpointer(id("):len(id)-2], `'"`)
			comments = true
		}
		els := resolve(id)
		switch len(els) {
		case 0:
			return fmt.Errorf("%w: reference %q: no element has that Id", trifirma.ErrInvalidDocument, ref.URI)
		case 1:
		default:
			return fmt.Errorf("%w: reference %q: %d elements have that Id (signature wrapping)", trifirma.ErrInvalidDocument, ref.URI, len(els))
		}
		set = &nodeSet{apex: els[0], comments: comments}
	default:
		return fmt.Errorf("%w: external URI %q", errUnsupportedRef, ref.URI)
	}
	var octets []byte
	isOctets := false
	reparse := func() error {
		d, err := xmldom.Parse(octets, lim)
		if err != nil {
			return fmt.Errorf("%w: transform output is not XML: %v", trifirma.ErrInvalidDocument, err)
		}
		// A re-parsed node-set is another document: enveloped-signature no longer applies.
		set, isOctets, sig = &nodeSet{apex: &d.Node, comments: true}, false, nil
		return nil
	}
	for i, t := range ref.Transforms {
		last := i == len(ref.Transforms)-1
		switch t.Algorithm {
		case uriEnveloped:
			if isOctets {
				if err := reparse(); err != nil {
					return err
				}
			}
			if sig != nil {
				set.excl = append(set.excl, sig)
			}
		case uriXPath:
			if !isNoSigsXPath(t.XPath) {
				return fmt.Errorf("%w: XPath transform %q (only %s is supported)", errUnsupportedRef, t.XPath, xpathNoSigs)
			}
			if isOctets {
				if err := reparse(); err != nil {
					return err
				}
			}
			set.noSigs = true
		case uriBase64:
			var text string
			if isOctets {
				text = string(octets)
			} else {
				text = set.text()
			}
			if last {
				return decodeBase64To(h, text)
			}
			var b bytes.Buffer
			if err := decodeBase64To(&b, text); err != nil {
				return err
			}
			octets, isOctets = b.Bytes(), true
		default:
			alg, err := c14n.ParseAlgorithm(t.Algorithm)
			if err != nil {
				return fmt.Errorf("%w: transform %q", errUnsupportedRef, t.Algorithm)
			}
			alg.InclusivePrefixes = t.Prefixes
			if isOctets {
				if err := reparse(); err != nil {
					return err
				}
			}
			if last {
				return canonTo(h, set, alg)
			}
			var b strings.Builder
			if err := canonTo(&b, set, alg); err != nil {
				return err
			}
			octets, isOctets = []byte(b.String()), true
		}
	}
	if isOctets {
		h.Write(octets)
		return nil
	}
	return canonTo(h, set, c14n.Algorithm{Method: c14n.Inclusive10})
}

func canonTo(w io.Writer, set *nodeSet, alg c14n.Algorithm) error {
	if err := set.canonicalize(w, alg); err != nil {
		return fmt.Errorf("%w: %v", trifirma.ErrInvalidDocument, err)
	}
	return nil
}

// decodeBase64To decodes Base64 text (white space ignored) into w without holding the
// decoded data.
func decodeBase64To(w io.Writer, text string) error {
	if strings.ContainsAny(text, " \t") {
		text = strings.Join(strings.Fields(text), "")
	}
	// The decoder skips CR and LF itself.
	if _, err := io.Copy(w, base64.NewDecoder(base64.StdEncoding, strings.NewReader(text))); err != nil {
		return fmt.Errorf("%w: base64 transform: %v", trifirma.ErrInvalidDocument, err)
	}
	return nil
}

func isNoSigsXPath(x string) bool {
	return strings.Join(strings.Fields(x), "") == xpathNoSigs
}

// parseReference reads a ds:Reference element.
func parseReference(n *xmldom.Node) (*reference, error) {
	r := &reference{node: n, ID: n.AttrValue("Id"), Type: n.AttrValue("Type")}
	uri, ok := n.Attr("", "URI")
	if !ok {
		return nil, fmt.Errorf("%w: ds:Reference without URI", errUnsupportedRef)
	}
	r.URI = uri
	if ts := n.FirstElement(NSDS, "Transforms"); ts != nil {
		for _, t := range ts.Elements() {
			if !t.Is(NSDS, "Transform") {
				continue
			}
			tr := transform{Algorithm: t.AttrValue("Algorithm")}
			for _, c := range t.Elements() {
				switch {
				case c.Is(NSDS, "XPath"):
					tr.XPath = c.Text()
					// The expression's ds prefix must be the XML-DSig namespace.
					if u, _ := c.LookupNamespace("ds"); u != NSDS && strings.Contains(tr.XPath, "ds:") {
						return nil, fmt.Errorf("%w: XPath prefix ds is not bound to XML-DSig", errUnsupportedRef)
					}
				case c.Local() == "InclusiveNamespaces":
					tr.Prefixes = strings.Fields(c.AttrValue("PrefixList"))
				}
			}
			r.Transforms = append(r.Transforms, tr)
		}
	}
	dm := n.FirstElement(NSDS, "DigestMethod")
	dv := n.FirstElement(NSDS, "DigestValue")
	if dm == nil || dv == nil {
		return nil, fmt.Errorf("%w: ds:Reference without DigestMethod/DigestValue", trifirma.ErrInvalidDocument)
	}
	h, err := trifirma.ParseDigest(dm.AttrValue("Algorithm"))
	if err != nil {
		return nil, err
	}
	r.Digest = h
	v, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(dv.Text()), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: DigestValue is not Base64", trifirma.ErrInvalidDocument)
	}
	r.DigestValue = v
	return r, nil
}

// signatureInfo is what the engine reads from an existing ds:Signature.
type signatureInfo struct {
	node, signedInfo, sigValue, keyInfo, qualifying *xmldom.Node
	id                                              string
	refs                                            []*reference
	counter                                         bool // inside a xades:CounterSignature
}

func readSignature(sig *xmldom.Node) (*signatureInfo, error) {
	si := &signatureInfo{node: sig, id: sig.AttrValue("Id")}
	si.signedInfo = sig.FirstElement(NSDS, "SignedInfo")
	si.sigValue = sig.FirstElement(NSDS, "SignatureValue")
	if si.signedInfo == nil || si.sigValue == nil {
		return nil, fmt.Errorf("%w: ds:Signature without SignedInfo or SignatureValue", trifirma.ErrInvalidDocument)
	}
	si.keyInfo = sig.FirstElement(NSDS, "KeyInfo")
	for _, o := range sig.Elements() {
		if !o.Is(NSDS, "Object") {
			continue
		}
		for _, q := range o.Elements() {
			if q.Local() == "QualifyingProperties" && strings.HasPrefix(q.Space, "http://uri.etsi.org/01903/") {
				si.qualifying = q
			}
		}
	}
	for p := sig.Parent; p != nil && p.Kind == xmldom.ElementNode; p = p.Parent {
		if p.Local() == "CounterSignature" && strings.HasPrefix(p.Space, "http://uri.etsi.org/01903/") {
			si.counter = true
			break
		}
	}
	for _, r := range si.signedInfo.Elements() {
		if !r.Is(NSDS, "Reference") {
			continue
		}
		ref, err := parseReference(r)
		if err != nil {
			return nil, err
		}
		si.refs = append(si.refs, ref)
	}
	if len(si.refs) == 0 {
		return nil, fmt.Errorf("%w: ds:Signature without references", trifirma.ErrInvalidDocument)
	}
	return si, nil
}

// isDataRef reports whether ref points at signed data (not at the signature's own
// SignedProperties, KeyInfo or a countersigned SignatureValue).
func (si *signatureInfo) isDataRef(ref *reference, resolve resolver) bool {
	if ref.Type == typeSignedPr || ref.Type == typeSignedPr2 || ref.Type == typeCounter || strings.HasSuffix(ref.Type, "#SignedProperties") {
		return false
	}
	if strings.HasPrefix(ref.URI, "#") && !strings.HasPrefix(ref.URI, "#xpointer") {
		for _, e := range resolve(ref.URI[1:]) {
			if e == si.keyInfo || (si.qualifying != nil && e.Ancestor(si.qualifying)) {
				return false
			}
		}
	}
	return true
}

// findSignatures returns every ds:Signature in document order.
func findSignatures(n *xmldom.Node) []*xmldom.Node {
	var out []*xmldom.Node
	var walk func(*xmldom.Node)
	walk = func(x *xmldom.Node) {
		for c := x.FirstChild; c != nil; c = c.Next {
			if c.Kind != xmldom.ElementNode {
				continue
			}
			if c.Is(NSDS, "Signature") {
				out = append(out, c)
			}
			walk(c)
		}
	}
	walk(n)
	return out
}
