package xades

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/c14n"
	"github.com/trifirma/trifirma/internal/xmldom"
)

// looksXML reports whether data starts like an XML document (after a BOM and white space).
func looksXML(data []byte) bool {
	d := bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	if bytes.HasPrefix(d, []byte{0xFF, 0xFE}) || bytes.HasPrefix(d, []byte{0xFE, 0xFF}) ||
		bytes.HasPrefix(d, []byte{0x3C, 0x00}) || bytes.HasPrefix(d, []byte{0x00, 0x3C}) {
		return true
	}
	d = bytes.TrimLeft(d, " \t\r\n")
	return len(d) > 0 && d[0] == '<'
}

func sniffMime(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return "application/pdf"
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return "application/zip"
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(data, []byte("\x89PNG")):
		return "image/png"
	}
	return "application/octet-stream"
}

var mimeOIDs = map[string]string{"text/xml": "1.2.840.10003.5.109.10", "application/pdf": "1.2.840.10003.5.109.1"}

func (o *options) format(mime, encoding string) *dataFormat {
	f := &dataFormat{mime: mime, encoding: encoding, description: o.contentDes, oid: o.contentOID}
	if o.mime != "" {
		f.mime = o.mime
	}
	if o.encoding != "" {
		f.encoding = o.encoding
	}
	if f.oid == "" {
		f.oid = mimeOIDs[f.mime]
	}
	return f
}

func (o *options) c14nTransforms() []transform {
	if !o.dataC14N {
		return nil
	}
	return []transform{{Algorithm: o.canon.URI(), Prefixes: o.canon.InclusivePrefixes}}
}

func (e *Engine) newSig(o *options, first bool) (*newSig, error) {
	if first && o.sigID != "" {
		return &newSig{base: o.sigID}, nil
	}
	u, err := e.uuid()
	if err != nil {
		return nil, err
	}
	return &newSig{base: u}, nil
}

func (e *Engine) refID() (string, error) {
	u, err := e.uuid()
	return "Reference-" + u, err
}

// xmlData parses data when it is an XML document (nil when it is not).
func (e *Engine) xmlData(data []byte) *xmldom.Document {
	if !looksXML(data) || len(data) > e.maxBytes() {
		return nil
	}
	d, err := xmldom.Parse(data, e.lim)
	if err != nil {
		return nil
	}
	return d
}

// embedRoot returns a graft that makes the document element of d the only child of the
// element with the given Id in the fragment.
func embedRoot(d *xmldom.Document, id string) func(*xmldom.Document) error {
	return func(frag *xmldom.Document) error {
		els := frag.ElementsByID(id)
		if len(els) != 1 {
			return fmt.Errorf("xades: internal error: container %s not found", id)
		}
		root := d.Root()
		root.Next = nil
		els[0].FirstChild, els[0].LastChild = root, root
		return nil
	}
}

func (e *Engine) planSign(o *options, data []byte) (*plan, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: no data to sign", trifirma.ErrInvalidDocument)
	}
	if len(data) > e.maxBytes() {
		return nil, fmt.Errorf("%w: document of %d bytes (limit %d)", trifirma.ErrTooLarge, len(data), e.maxBytes())
	}
	s, err := e.newSig(o, true)
	if err != nil {
		return nil, err
	}
	rid, err := e.refID()
	if err != nil {
		return nil, err
	}
	p := &plan{o: o, data: data}
	ps := &planned{s: s}
	p.sigs = []*planned{ps}
	switch o.variant {
	case VariantEnveloped:
		return e.planEnveloped(p, ps, rid)
	case VariantExternal:
		if o.uri == "" || strings.HasPrefix(o.uri, "#") {
			return nil, invalid("%s needs the extra parameter %s with the external URI of the data", VariantExternal, ParamURI)
		}
		h := o.refDigest.New()
		h.Write(data)
		p.fresh = true
		s.refs = []*dataRef{{ref: reference{ID: rid, Type: typeObject, URI: o.uri, Digest: o.refDigest}, fixed: h.Sum(nil), format: o.format(sniffMime(data), "")}}
		u, err := e.uuid()
		if err != nil {
			return nil, err
		}
		s.outer = [2]string{`<AFIRMA Id="AFIRMA-Root-` + u + `">`, `</AFIRMA>`}
		return p, nil
	}
	// Enveloping and (internally) detached carry the data.
	p.fresh = true
	doc := e.xmlData(data)
	if doc != nil && len(findSignatures(&doc.Node)) > 0 {
		return nil, fmt.Errorf("%w: the XML document is already signed: co-sign or counter-sign it instead", trifirma.ErrInvalidDocument)
	}
	ou, err := e.uuid()
	if err != nil {
		return nil, err
	}
	var content, attrs string
	ref := reference{ID: rid, Digest: o.refDigest}
	dr := &dataRef{}
	if doc != nil {
		r := doc.Root()
		content = p.marker(cut{s: int(r.Start), e: int(r.End)})
		ref.Transforms = o.c14nTransforms()
		dr.format = o.format("text/xml", "")
		attrs = ` MimeType="text/xml"`
	} else {
		content = p.marker(cut{b64: true})
		ref.Transforms = []transform{{Algorithm: uriBase64}}
		h := o.refDigest.New()
		h.Write(data)
		dr.fixed = h.Sum(nil)
		dr.format = o.format(sniffMime(data), uriBase64)
		attrs = ` Encoding="` + uriBase64 + `" MimeType="` + xmlAttr(dr.format.mime) + `"`
	}
	if o.variant == VariantEnveloping {
		oid := "Object-" + ou
		ref.URI, ref.Type = "#"+oid, typeObject
		s.objects = []string{`<ds:Object Id="` + oid + `"` + attrs + `>` + content + `</ds:Object>`}
		if doc != nil {
			ps.graft = embedRoot(doc, oid)
		}
	} else {
		cid := "CONTENT-" + ou
		ref.URI = "#" + cid
		u, err := e.uuid()
		if err != nil {
			return nil, err
		}
		s.outer = [2]string{`<AFIRMA Id="AFIRMA-Root-` + u + `"><CONTENT Id="` + cid + `"` + attrs + `>` + content + `</CONTENT>`, `</AFIRMA>`}
		if doc != nil {
			ps.graft = embedRoot(doc, cid)
		}
	}
	dr.ref = ref
	s.refs = []*dataRef{dr}
	p.doc = nil
	if doc != nil {
		p.src = doc.Source
	}
	return p, nil
}

func xmlAttr(s string) string {
	var w xw
	escapeAttr(&w.Builder, s)
	return w.String()
}

// envelopedTransforms are the data transforms of an enveloped signature: the signature
// itself and every other ds:Signature are excluded, so co-signatures do not break it.
func (o *options) envelopedTransforms() []transform {
	t := []transform{{Algorithm: uriEnveloped}, {Algorithm: uriXPath, XPath: xpathNoSigs}}
	return append(t, o.c14nTransforms()...)
}

// insertAt plans the insertion of ps as the last child of el.
func (p *plan) insertAt(ps *planned, el *xmldom.Node, prefix, suffix string) {
	in := insertion{start: int(el.InnerEnd), end: int(el.InnerEnd), prefix: prefix, suffix: suffix, sig: ps}
	if el.InnerStart == el.End { // <el/>: rewrite as <el>...</el>
		in.start, in.end = int(el.End)-2, int(el.End)
		in.prefix = ">" + prefix
		in.suffix = suffix + "</" + el.Name + ">"
	}
	ps.scope = el.InScope()
	ps.parent = el
	ps.at = in.start
	ps.s.propExc = !p.o.canonSet && inheritsXMLAttrs(el)
	if prefix != "" || suffix != "" {
		// Wrappers are part of the fragment.
		ps.s.outer = [2]string{prefix, suffix}
		in.prefix = strings.TrimSuffix(in.prefix, prefix)
		in.suffix = strings.TrimPrefix(in.suffix, suffix)
	}
	p.inserts = append(p.inserts, in)
}

func (e *Engine) planEnveloped(p *plan, ps *planned, rid string) (*plan, error) {
	o := p.o
	doc, err := e.parse(p.data, "document")
	if err != nil {
		return nil, err
	}
	if len(findSignatures(&doc.Node)) > 0 {
		return nil, fmt.Errorf("%w: the XML document is already signed: co-sign or counter-sign it instead", trifirma.ErrInvalidDocument)
	}
	if r := doc.Root(); o.facturae && (r.Local() != "Facturae" || !strings.HasPrefix(r.Space, "http://www.facturae.es/Facturae/")) {
		return nil, fmt.Errorf("%w: the document is not a FacturaE invoice (root <%s> in %q)", trifirma.ErrInvalidDocument, r.Name, r.Space)
	}
	p.doc, p.src = doc, doc.Source
	at := doc.Root()
	uri := ""
	if o.nodeToSign != "" {
		switch els := doc.ElementsByID(o.nodeToSign); len(els) {
		case 1:
			uri = "#" + o.nodeToSign
		case 0:
			if !o.allowNoXP {
				return nil, trifirma.NeedConfig(o.params, trifirma.NeedXPathNotFound, ParamAllowNoXPath, fmt.Sprintf("no node with Id %q to sign", o.nodeToSign))
			}
		default:
			return nil, fmt.Errorf("%w: %d elements have the Id %q", trifirma.ErrInvalidDocument, len(els), o.nodeToSign)
		}
	}
	if o.xpath != "" {
		el, err := selectXPath(doc, o.xpath)
		if err != nil {
			return nil, err
		}
		if el != nil {
			at = el
		} else if !o.allowNoXP {
			return nil, trifirma.NeedConfig(o.params, trifirma.NeedXPathNotFound, ParamAllowNoXPath, fmt.Sprintf("the XPath %q selects no element", o.xpath))
		}
	}
	enc := o.encoding
	if enc == "" {
		enc = doc.Encoding
	}
	ps.s.refs = []*dataRef{{ref: reference{ID: rid, Type: typeObject, URI: uri, Transforms: o.envelopedTransforms(), Digest: o.refDigest}, format: o.format("text/xml", enc)}}
	p.insertAt(ps, at, "", "")
	return p, nil
}

// checkWrapping refuses documents whose signatures could be re-targeted: every same-document
// reference must resolve to exactly one element, and Ids on XML-DSig/XAdES elements must be
// unique.
func checkWrapping(doc *xmldom.Document) error {
	var err error
	doc.IDs(func(id string, els []*xmldom.Node) {
		if len(els) < 2 || err != nil {
			return
		}
		for _, el := range els {
			if el.Space == NSDS || strings.HasPrefix(el.Space, "http://uri.etsi.org/01903/") {
				err = fmt.Errorf("%w: the Id %q appears on %d elements (signature wrapping)", trifirma.ErrInvalidDocument, id, len(els))
				return
			}
		}
	})
	if err != nil {
		return err
	}
	for _, s := range findSignatures(&doc.Node) {
		si, err := readSignature(s)
		if err != nil {
			return err
		}
		for _, r := range si.refs {
			if !strings.HasPrefix(r.URI, "#") || r.URI == "#xpointer(/)" {
				continue
			}
			id := strings.TrimPrefix(r.URI, "#")
			if strings.HasPrefix(id, "xpointer(id(") {
				id = strings.Trim(strings.TrimSuffix(strings.TrimPrefix(id, "xpointer(id("), "))"), `'"`)
			}
			if n := len(doc.ElementsByID(id)); n != 1 {
				return fmt.Errorf("%w: reference %q resolves to %d elements (signature wrapping)", trifirma.ErrInvalidDocument, r.URI, n)
			}
		}
	}
	return nil
}

// existing parses the signature given for co-signing or counter-signing.
func (e *Engine) existing(data []byte) (*xmldom.Document, []*signatureInfo, error) {
	if len(data) == 0 {
		return nil, nil, fmt.Errorf("%w: no signature given", trifirma.ErrInvalidDocument)
	}
	if !looksXML(data) {
		return nil, nil, fmt.Errorf("%w: the input is not an XML signature", trifirma.ErrInvalidDocument)
	}
	doc, err := e.parse(data, "signature")
	if err != nil {
		return nil, nil, err
	}
	var infos []*signatureInfo
	for _, s := range findSignatures(&doc.Node) {
		si, err := readSignature(s)
		if err != nil {
			return nil, nil, err
		}
		infos = append(infos, si)
	}
	if len(infos) == 0 {
		return nil, nil, fmt.Errorf("%w: the XML document has no ds:Signature to co-sign or counter-sign", trifirma.ErrInvalidDocument)
	}
	if err := checkWrapping(doc); err != nil {
		return nil, nil, err
	}
	for _, si := range infos {
		for _, r := range si.refs {
			if r.Type == "http://www.w3.org/2000/09/xmldsig#Manifest" {
				return nil, nil, fmt.Errorf("%w: signatures with a ds:Manifest are not supported", trifirma.ErrInvalidDocument)
			}
		}
	}
	return doc, infos, nil
}

// coversAll reports whether a reference's transforms exclude every ds:Signature.
func coversNoSignatures(r *reference) bool {
	for _, t := range r.Transforms {
		if t.Algorithm == uriXPath && isNoSigsXPath(t.XPath) {
			return true
		}
	}
	return false
}

func (e *Engine) planCosign(o *options, data []byte) (*plan, error) {
	doc, infos, err := e.existing(data)
	if err != nil {
		return nil, err
	}
	p := &plan{o: o, data: data, doc: doc, src: doc.Source}
	var first *signatureInfo
	for _, si := range infos {
		if !si.counter {
			first = si
			break
		}
	}
	if first == nil {
		return nil, fmt.Errorf("%w: no signature to co-sign", trifirma.ErrInvalidDocument)
	}
	res := p.resolver(nil)
	s, err := e.newSig(o, true)
	if err != nil {
		return nil, err
	}
	ps := &planned{s: s}
	p.sigs = []*planned{ps}
	enveloping := false
	for _, r := range first.refs {
		if !first.isDataRef(r, res) {
			continue
		}
		rid, err := e.refID()
		if err != nil {
			return nil, err
		}
		nr := &dataRef{ref: reference{ID: rid, Type: r.Type, URI: r.URI, Digest: o.refDigest}}
		switch {
		case r.URI == "":
			nr.ref.Transforms = o.envelopedTransforms()
			nr.format = o.format("text/xml", "")
		case strings.HasPrefix(r.URI, "#"):
			els := res(strings.TrimPrefix(r.URI, "#"))
			if len(els) != 1 {
				return nil, fmt.Errorf("%w: reference %q of the co-signed signature does not resolve to one element", trifirma.ErrInvalidDocument, r.URI)
			}
			target := els[0]
			if target.Ancestor(first.node) && target.Is(NSDS, "Object") {
				// Enveloping: the new signature gets its own copy of the data object.
				enveloping = true
				if err := e.copyObject(p, ps, nr, r, target); err != nil {
					return nil, err
				}
			} else {
				nr.ref.Transforms = r.Transforms
				mime := target.AttrValue("MimeType")
				if mime == "" {
					mime = "text/xml"
				}
				nr.format = o.format(mime, target.AttrValue("Encoding"))
			}
		default:
			// Externally detached: the data is not here, the reference is copied.
			nr.ref.Transforms, nr.ref.Digest, nr.fixed = r.Transforms, r.Digest, r.DigestValue
			nr.format = o.format("application/octet-stream", "")
		}
		s.refs = append(s.refs, nr)
	}
	if len(s.refs) == 0 {
		return nil, fmt.Errorf("%w: the co-signed signature references no data", trifirma.ErrInvalidDocument)
	}
	if enveloping && first.node.Parent.Kind == xmldom.DocumentNode {
		// The reference wraps both signatures in a new <AFIRMA> root.
		u, err := e.uuid()
		if err != nil {
			return nil, err
		}
		p.fresh = true
		p.doc = doc
		s.outer = [2]string{`<AFIRMA Id="AFIRMA-Root-` + u + `">` + p.marker(cut{s: int(first.node.Start), e: int(first.node.End)}), `</AFIRMA>`}
		return p, nil
	}
	parent := first.node.Parent
	if parent.Kind == xmldom.DocumentNode {
		// A lone externally detached signature: wrap it like the reference.
		u, err := e.uuid()
		if err != nil {
			return nil, err
		}
		p.fresh = true
		s.outer = [2]string{`<AFIRMA Id="AFIRMA-Root-` + u + `">` + p.marker(cut{s: int(first.node.Start), e: int(first.node.End)}), `</AFIRMA>`}
		return p, nil
	}
	// Co-signing must not break the signatures already there: a reference that covers the
	// insertion point has to exclude every ds:Signature.
	for _, si := range infos {
		for _, r := range si.refs {
			if !si.isDataRef(r, res) || coversNoSignatures(r) {
				continue
			}
			var covered *xmldom.Node
			if r.URI == "" {
				covered = &doc.Node
			} else if strings.HasPrefix(r.URI, "#") {
				if els := res(strings.TrimPrefix(r.URI, "#")); len(els) == 1 {
					covered = els[0]
				}
			}
			if covered != nil && parent.Ancestor(covered) && !parent.Ancestor(si.node) {
				return nil, fmt.Errorf("%w: co-signing would invalidate signature %q: its reference %q covers the document without excluding other signatures", trifirma.ErrInvalidDocument, si.id, r.URI)
			}
		}
	}
	p.insertAt(ps, parent, "", "")
	return p, nil
}

// copyObject plans, for an enveloping co-signature, a new ds:Object with the content of the
// co-signed one.
func (e *Engine) copyObject(p *plan, ps *planned, nr *dataRef, r *reference, obj *xmldom.Node) error {
	u, err := e.uuid()
	if err != nil {
		return err
	}
	oid := "Object-" + u
	nr.ref.URI = "#" + oid
	nr.ref.Transforms = r.Transforms
	var w xw
	attrs := []string{"Id", oid}
	for _, a := range []string{"MimeType", "Encoding"} {
		if v, ok := obj.Attr("", a); ok {
			attrs = append(attrs, a, v)
		}
	}
	// Namespaces the copied content may rely on.
	for _, d := range obj.InScope() {
		if d.Prefix == "ds" && d.URI == NSDS || d.URI == "" {
			continue
		}
		name := "xmlns"
		if d.Prefix != "" {
			name = "xmlns:" + d.Prefix
		}
		attrs = append(attrs, name, d.URI)
	}
	w.start("ds:Object", attrs...)
	w.raw(p.marker(cut{s: int(obj.InnerStart), e: int(obj.InnerEnd)}))
	w.end("ds:Object")
	ps.s.objects = append(ps.s.objects, w.String())
	mime := obj.AttrValue("MimeType")
	if mime == "" {
		mime = "application/octet-stream"
	}
	nr.format = p.o.format(mime, obj.AttrValue("Encoding"))
	prev := ps.graft
	ps.graft = func(frag *xmldom.Document) error {
		if prev != nil {
			if err := prev(frag); err != nil {
				return err
			}
		}
		els := frag.ElementsByID(oid)
		if len(els) != 1 {
			return fmt.Errorf("xades: internal error: object %s not found", oid)
		}
		// A view of the co-signed object's content (its nodes are not modified).
		els[0].FirstChild, els[0].LastChild = obj.FirstChild, obj.LastChild
		return nil
	}
	return nil
}

func (e *Engine) planCountersign(o *options, data []byte) (*plan, error) {
	doc, infos, err := e.existing(data)
	if err != nil {
		return nil, err
	}
	p := &plan{o: o, data: data, doc: doc, src: doc.Source}
	hasCounter := func(si *signatureInfo) bool {
		for _, c := range infos {
			if c != si && c.counter && si.qualifying != nil && c.node.Ancestor(si.qualifying) {
				return true
			}
		}
		return false
	}
	first := true
	for _, si := range infos {
		if o.leafs && hasCounter(si) {
			continue
		}
		if si.qualifying == nil {
			return nil, fmt.Errorf("%w: signature %q has no XAdES QualifyingProperties to hold a countersignature", trifirma.ErrInvalidDocument, si.id)
		}
		svID := si.sigValue.AttrValue("Id")
		if svID == "" {
			return nil, fmt.Errorf("%w: the SignatureValue of signature %q has no Id to reference", trifirma.ErrInvalidDocument, si.id)
		}
		s, err := e.newSig(o, first)
		if err != nil {
			return nil, err
		}
		first = false
		rid, err := e.refID()
		if err != nil {
			return nil, err
		}
		s.refs = []*dataRef{{ref: reference{ID: rid, Type: typeCounter, URI: "#" + svID, Digest: o.refDigest,
			Transforms: []transform{{Algorithm: c14n.URIInclusive10}}}, format: o.format("text/xml", "")}}
		ps := &planned{s: s}
		p.sigs = append(p.sigs, ps)
		qp := si.qualifying
		pfx := qp.Prefix()
		q := func(local string) string {
			if pfx == "" {
				return local
			}
			return pfx + ":" + local
		}
		up := qp.FirstElement(qp.Space, "UnsignedProperties")
		var usp *xmldom.Node
		if up != nil {
			usp = up.FirstElement(qp.Space, "UnsignedSignatureProperties")
		}
		cs0, cs1 := "<"+q("CounterSignature")+">", "</"+q("CounterSignature")+">"
		switch {
		case usp != nil:
			p.insertAt(ps, usp, cs0, cs1)
		case up != nil:
			ps.scope, ps.parent, ps.at = up.InScope(), up, int(up.InnerStart)
			ps.s.propExc = !o.canonSet && inheritsXMLAttrs(up)
			ps.s.outer = [2]string{"<" + q("UnsignedSignatureProperties") + ">" + cs0, cs1 + "</" + q("UnsignedSignatureProperties") + ">"}
			in := insertion{start: int(up.InnerStart), end: int(up.InnerStart), sig: ps}
			if up.InnerStart == up.End {
				in.start, in.end, in.prefix, in.suffix = int(up.End)-2, int(up.End), ">", "</"+up.Name+">"
			}
			p.inserts = append(p.inserts, in)
		default:
			p.insertAt(ps, qp, "<"+q("UnsignedProperties")+"><"+q("UnsignedSignatureProperties")+">"+cs0,
				cs1+"</"+q("UnsignedSignatureProperties")+"></"+q("UnsignedProperties")+">")
		}
	}
	if len(p.sigs) == 0 {
		return nil, fmt.Errorf("%w: no signature to counter-sign", trifirma.ErrInvalidDocument)
	}
	for _, ps := range p.sigs {
		if ps.s.propExc {
			ps.s.refs[0].ref.Transforms = []transform{{Algorithm: c14n.URIExclusive10}}
		}
	}
	return p, nil
}

// inheritsXMLAttrs reports whether an element or one of its ancestors carries an xml:
// attribute (xml:lang, xml:space, xml:base...). Canonical XML copies those into the apex of a
// canonicalised subtree, which xmldsigjs (xadesjs) does not do; exclusive canonicalisation,
// which every validator implements alike, is then used for the signature's own parts.
func inheritsXMLAttrs(el *xmldom.Node) bool {
	for n := el; n != nil && n.Kind == xmldom.ElementNode; n = n.Parent {
		for _, a := range n.Attrs {
			if a.Space == xmldom.XMLNamespace {
				return true
			}
		}
	}
	return false
}
