// Package c14n canonicalises documents and document subsets built by package xmldom with
// Canonical XML 1.0, Canonical XML 1.1 and Exclusive XML Canonicalization 1.0 (each with or
// without comments). Output is byte-identical to libxml2's (xmllint --c14n, xmlsec1) for the
// constructs the parser accepts; the differential tests in this package check it.
//
// A document subset is an apex (the document, or one element with its descendants, as a
// same-document reference "#id" selects) minus excluded subtrees (as the enveloped-signature
// transform and the XPath filter not(ancestor-or-self::ds:Signature) remove them).
package c14n

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/trifirma/trifirma/internal/xmldom"
)

// Method is a canonicalisation method family.
type Method uint8

// The methods.
const (
	Inclusive10 Method = iota // Canonical XML 1.0
	Inclusive11               // Canonical XML 1.1
	Exclusive10               // Exclusive XML Canonicalization 1.0
)

// Algorithm URIs.
const (
	URIInclusive10         = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
	URIInclusive10Comments = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
	URIInclusive11         = "http://www.w3.org/2006/12/xml-c14n11"
	URIInclusive11Comments = "http://www.w3.org/2006/12/xml-c14n11#WithComments"
	URIExclusive10         = "http://www.w3.org/2001/10/xml-exc-c14n#"
	URIExclusive10Comments = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
)

// Algorithm is a canonicalisation algorithm: a method, whether comments are kept, and for
// exclusive canonicalisation the InclusiveNamespaces PrefixList ("#default" names the default
// namespace).
type Algorithm struct {
	Method            Method
	Comments          bool
	InclusivePrefixes []string
}

// ErrUnsupported is wrapped by errors about unknown algorithms and inputs this package
// refuses to canonicalise (because implementations disagree on them).
var ErrUnsupported = errors.New("c14n: unsupported")

// ParseAlgorithm maps an algorithm URI to its Algorithm.
func ParseAlgorithm(uri string) (Algorithm, error) {
	switch uri {
	case URIInclusive10:
		return Algorithm{Method: Inclusive10}, nil
	case URIInclusive10Comments:
		return Algorithm{Method: Inclusive10, Comments: true}, nil
	case URIInclusive11:
		return Algorithm{Method: Inclusive11}, nil
	case URIInclusive11Comments:
		return Algorithm{Method: Inclusive11, Comments: true}, nil
	case URIExclusive10:
		return Algorithm{Method: Exclusive10}, nil
	case URIExclusive10Comments:
		return Algorithm{Method: Exclusive10, Comments: true}, nil
	}
	return Algorithm{}, fmt.Errorf("%w: canonicalization algorithm %q", ErrUnsupported, uri)
}

// URI returns the algorithm's identifier.
func (a Algorithm) URI() string {
	switch a.Method {
	case Inclusive11:
		if a.Comments {
			return URIInclusive11Comments
		}
		return URIInclusive11
	case Exclusive10:
		if a.Comments {
			return URIExclusive10Comments
		}
		return URIExclusive10
	}
	if a.Comments {
		return URIInclusive10Comments
	}
	return URIInclusive10
}

// Options select a document subset.
type Options struct {
	// Exclude, when it returns true for a node, removes the node and its descendants.
	Exclude func(*xmldom.Node) bool
	// NoComments removes comments even for a #WithComments algorithm (same-document
	// references select node-sets without comments).
	NoComments bool
}

// Canonicalize writes the canonical form of the subtree at apex (a document or an element)
// to w.
func Canonicalize(w io.Writer, apex *xmldom.Node, alg Algorithm, opts *Options) error {
	if apex == nil || (apex.Kind != xmldom.DocumentNode && apex.Kind != xmldom.ElementNode) {
		return fmt.Errorf("%w: apex must be a document or an element", ErrUnsupported)
	}
	c := &canon{alg: alg, w: w, parentIsDoc: true}
	if opts != nil {
		c.exclude = opts.Exclude
		if opts.NoComments {
			c.alg.Comments = false
		}
	}
	c.buf = make([]byte, 0, 32<<10)
	var err error
	if apex.Kind == xmldom.DocumentNode {
		for n := apex.FirstChild; n != nil && err == nil; n = n.Next {
			err = c.node(n, nil)
		}
	} else if c.exclude == nil || !c.exclude(apex) {
		// Scope of the apex: every ancestor declaration, outermost first.
		var anc []*xmldom.Node
		for p := apex.Parent; p != nil && p.Kind == xmldom.ElementNode; p = p.Parent {
			anc = append(anc, p)
		}
		for i := len(anc) - 1; i >= 0; i-- {
			c.scope = append(c.scope, anc[i].NS...)
		}
		err = c.node(apex, apex)
	}
	if err != nil {
		return err
	}
	return c.flush()
}

// Bytes returns the canonical form of apex.
func Bytes(apex *xmldom.Node, alg Algorithm, opts *Options) ([]byte, error) {
	var b strings.Builder
	if err := Canonicalize(&b, apex, alg, opts); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

const (
	beforeRoot = iota
	insideRoot
	afterRoot
)

type canon struct {
	alg         Algorithm
	w           io.Writer
	buf         []byte
	exclude     func(*xmldom.Node) bool
	pos         int
	parentIsDoc bool
	scope       []xmldom.NS // inclusive: in-scope declarations, innermost last
	rendered    nsStack     // exclusive: libxml2's ns_rendered stack
	err         error
	attrBuf     []xmldom.Attr
	nsBuf       []xmldom.NS
}

func (c *canon) write(s string) {
	if len(c.buf)+len(s) > cap(c.buf) {
		c.flushBuf()
		if len(s) > cap(c.buf) {
			if c.err == nil {
				_, c.err = io.WriteString(c.w, s)
			}
			return
		}
	}
	c.buf = append(c.buf, s...)
}

func (c *canon) writeByte(b byte) {
	if len(c.buf) == cap(c.buf) {
		c.flushBuf()
	}
	c.buf = append(c.buf, b)
}

func (c *canon) flushBuf() {
	if len(c.buf) > 0 && c.err == nil {
		_, c.err = c.w.Write(c.buf)
	}
	c.buf = c.buf[:0]
}

func (c *canon) flush() error {
	c.flushBuf()
	return c.err
}

// node processes n; apex is non-nil when n is the apex of an element subset.
func (c *canon) node(n *xmldom.Node, apex *xmldom.Node) error {
	if c.exclude != nil && c.exclude(n) {
		return nil
	}
	switch n.Kind {
	case xmldom.ElementNode:
		return c.element(n, apex == n)
	case xmldom.TextNode:
		c.text(n.Data)
	case xmldom.ProcInstNode:
		if c.pos == afterRoot {
			c.write("\n<?")
		} else {
			c.write("<?")
		}
		c.write(n.Name)
		if n.Data != "" {
			c.writeByte(' ')
			c.escape(n.Data, escPI)
		}
		if c.pos == beforeRoot {
			c.write("?>\n")
		} else {
			c.write("?>")
		}
	case xmldom.CommentNode:
		if !c.alg.Comments {
			return nil
		}
		if c.pos == afterRoot {
			c.write("\n<!--")
		} else {
			c.write("<!--")
		}
		c.escape(n.Data, escPI)
		if c.pos == beforeRoot {
			c.write("-->\n")
		} else {
			c.write("-->")
		}
	}
	return c.err
}

func (c *canon) element(n *xmldom.Node, isApex bool) error {
	if err := checkNamespaces(n); err != nil {
		return err
	}
	wasParentIsDoc := false
	if c.parentIsDoc {
		wasParentIsDoc = true
		c.parentIsDoc = false
		c.pos = insideRoot
	}
	c.writeByte('<')
	c.write(n.Name)
	scopeLen := len(c.scope)
	saved := c.rendered.save()
	var err error
	if c.alg.Method == Exclusive10 {
		err = c.exclusiveNS(n)
	} else {
		err = c.inclusiveNS(n, isApex)
	}
	if err != nil {
		return err
	}
	if err := c.attrs(n, isApex); err != nil {
		return err
	}
	c.writeByte('>')
	for ch := n.FirstChild; ch != nil; ch = ch.Next {
		if err := c.node(ch, nil); err != nil {
			return err
		}
	}
	c.write("</")
	c.write(n.Name)
	c.writeByte('>')
	if wasParentIsDoc {
		c.parentIsDoc = true
		c.pos = afterRoot
	}
	c.scope = c.scope[:scopeLen]
	c.rendered.restore(saved)
	return c.err
}

// checkNamespaces refuses namespace URIs that libxml2 and Java render differently (libxml2
// writes them unescaped) and relative URIs (an error in Canonical XML).
func checkNamespaces(n *xmldom.Node) error {
	for _, d := range n.NS {
		if d.URI == "" {
			continue
		}
		if strings.ContainsAny(d.URI, "&<\"\t\n\r") {
			return fmt.Errorf("%w: namespace URI %q contains characters canonicalisers disagree on", ErrUnsupported, d.URI)
		}
		if !hasScheme(d.URI) {
			return fmt.Errorf("%w: relative namespace URI %q", ErrUnsupported, d.URI)
		}
	}
	return nil
}

func hasScheme(u string) bool {
	i := strings.IndexByte(u, ':')
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		ch := u[j]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || j > 0 && (ch >= '0' && ch <= '9' || ch == '+' || ch == '-' || ch == '.') {
			continue
		}
		return false
	}
	return true
}

func (c *canon) lookup(prefix string) (string, bool) {
	for i := len(c.scope) - 1; i >= 0; i-- {
		if c.scope[i].Prefix == prefix {
			return c.scope[i].URI, true
		}
	}
	return "", false
}

func (c *canon) writeNS(d xmldom.NS) {
	if d.Prefix == "" {
		c.write(` xmlns="`)
	} else {
		c.write(" xmlns:")
		c.write(d.Prefix)
		c.write(`="`)
	}
	c.write(d.URI)
	c.writeByte('"')
}

func sortNS(l []xmldom.NS) {
	slices.SortFunc(l, func(a, b xmldom.NS) int { return strings.Compare(a.Prefix, b.Prefix) })
}

// inclusiveNS renders the namespace axis for Canonical XML 1.0/1.1 and pushes n's
// declarations on the scope.
func (c *canon) inclusiveNS(n *xmldom.Node, isApex bool) error {
	var out []xmldom.NS
	if isApex {
		c.scope = append(c.scope, n.NS...)
		seen := map[string]bool{}
		for i := len(c.scope) - 1; i >= 0; i-- {
			d := c.scope[i]
			if seen[d.Prefix] {
				continue
			}
			seen[d.Prefix] = true
			if d.Prefix == "xml" || d.URI == "" {
				continue
			}
			if err := checkNSValue(d.URI); err != nil {
				return err
			}
			out = append(out, d)
		}
	} else {
		if len(n.NS) == 0 {
			return nil
		}
		for _, d := range n.NS {
			if d.Prefix == "xml" {
				continue
			}
			pu, found := c.lookup(d.Prefix)
			switch {
			case d.Prefix == "" && d.URI == "":
				if found && pu != "" {
					out = append(out, d)
				}
			case !found || pu != d.URI:
				out = append(out, d)
			}
		}
		c.scope = append(c.scope, n.NS...)
	}
	sortNS(out)
	for _, d := range out {
		c.writeNS(d)
	}
	return nil
}

func checkNSValue(u string) error {
	if strings.ContainsAny(u, "&<\"\t\n\r") {
		return fmt.Errorf("%w: namespace URI %q contains characters canonicalisers disagree on", ErrUnsupported, u)
	}
	if !hasScheme(u) {
		return fmt.Errorf("%w: relative namespace URI %q", ErrUnsupported, u)
	}
	return nil
}

// nsStack mirrors libxml2's ns_rendered stack for exclusive canonicalisation.
type nsStack struct {
	tab                []xmldom.NS
	prevStart, prevEnd int
}

type nsState struct{ end, prevStart, prevEnd int }

func (s *nsStack) save() nsState { return nsState{len(s.tab), s.prevStart, s.prevEnd} }
func (s *nsStack) restore(st nsState) {
	s.tab = s.tab[:st.end]
	s.prevStart, s.prevEnd = st.prevStart, st.prevEnd
}
func (s *nsStack) add(d xmldom.NS) { s.tab = append(s.tab, d) }
func (s *nsStack) shift()          { s.prevStart, s.prevEnd = s.prevEnd, len(s.tab) }

// find is xmlC14NVisibleNsStackFind: searches the entries of the nearest output ancestor.
func (s *nsStack) find(d xmldom.NS) bool {
	empty := d.Prefix == "" && d.URI == ""
	start := s.prevStart
	if empty {
		start = 0
	}
	for i := len(s.tab) - 1; i >= start; i-- {
		if s.tab[i].Prefix == d.Prefix {
			return s.tab[i].URI == d.URI
		}
	}
	return empty
}

// excFind is xmlExcC14NVisibleNsStackFind: searches every output ancestor.
func (s *nsStack) excFind(d xmldom.NS) bool {
	empty := d.Prefix == "" && d.URI == ""
	for i := len(s.tab) - 1; i >= 0; i-- {
		if s.tab[i].Prefix == d.Prefix {
			return s.tab[i].URI == d.URI
		}
	}
	return empty
}

func (c *canon) exclusiveNS(n *xmldom.Node) error {
	c.scope = append(c.scope, n.NS...)
	list := c.nsBuf[:0]
	defer func() { c.nsBuf = list[:0] }()
	insert := func(d xmldom.NS) error {
		if d.URI != "" {
			if err := checkNSValue(d.URI); err != nil {
				return err
			}
		}
		for _, x := range list {
			if x.Prefix == d.Prefix {
				return nil
			}
		}
		list = append(list, d)
		return nil
	}
	hasEmpty, utilizedEmpty, emptyInList := false, false, false
	for _, pfx := range c.alg.InclusivePrefixes {
		if pfx == "#default" || pfx == "" {
			pfx = ""
			emptyInList = true
		}
		if pfx == "xml" {
			continue
		}
		uri, ok := c.lookup(pfx)
		if !ok {
			continue
		}
		d := xmldom.NS{Prefix: pfx, URI: uri}
		already := c.rendered.find(d)
		c.rendered.add(d)
		if !already {
			if err := insert(d); err != nil {
				return err
			}
		}
		if pfx == "" {
			hasEmpty = true
		}
	}
	pfx := n.Prefix()
	var d xmldom.NS
	ok := true
	if pfx != "" {
		d = xmldom.NS{Prefix: pfx, URI: n.Space}
	} else {
		var uri string
		uri, ok = c.lookup("")
		d = xmldom.NS{URI: uri}
		utilizedEmpty = true
	}
	if ok && pfx != "xml" {
		if !c.rendered.excFind(d) {
			if err := insert(d); err != nil {
				return err
			}
		}
		c.rendered.add(d)
		if d.Prefix == "" {
			hasEmpty = true
		}
	}
	for i := range n.Attrs {
		a := &n.Attrs[i]
		ap := a.Prefix()
		if ap == "" || ap == "xml" {
			continue
		}
		ad := xmldom.NS{Prefix: ap, URI: a.Space}
		already := c.rendered.excFind(ad)
		c.rendered.add(ad)
		if !already {
			if err := insert(ad); err != nil {
				return err
			}
		}
	}
	if utilizedEmpty && !hasEmpty && !emptyInList {
		if !c.rendered.excFind(xmldom.NS{}) {
			c.write(` xmlns=""`)
		}
	} else if !hasEmpty && emptyInList {
		if !c.rendered.find(xmldom.NS{}) {
			c.write(` xmlns=""`)
		}
	}
	sortNS(list)
	for _, d := range list {
		c.writeNS(d)
	}
	c.rendered.shift()
	return nil
}

// attrs renders the attribute axis.
func (c *canon) attrs(n *xmldom.Node, isApex bool) error {
	orphan := isApex && n.Parent != nil && n.Parent.Kind == xmldom.ElementNode
	if len(n.Attrs) == 0 && !orphan {
		return nil
	}
	list := c.attrBuf[:0]
	defer func() { c.attrBuf = list[:0] }()
	switch c.alg.Method {
	case Exclusive10:
		list = append(list, n.Attrs...)
	case Inclusive10:
		list = append(list, n.Attrs...)
		if orphan {
			for p := n.Parent; p != nil && p.Kind == xmldom.ElementNode; p = p.Parent {
				for _, a := range p.Attrs {
					if a.Space != xmldom.XMLNamespace || hasAttr(list, a.Space, a.Local()) {
						continue
					}
					list = append(list, a)
				}
			}
		}
	case Inclusive11:
		var lang, space, base *xmldom.Attr
		for i := range n.Attrs {
			a := &n.Attrs[i]
			if a.Space == xmldom.XMLNamespace {
				switch a.Local() {
				case "lang":
					lang = a
					continue
				case "space":
					space = a
					continue
				case "base":
					base = a
					continue
				}
			}
			list = append(list, *a)
		}
		var baseOwner *xmldom.Node
		if base != nil {
			baseOwner = n
		}
		if orphan {
			for p := n.Parent; p != nil && p.Kind == xmldom.ElementNode; p = p.Parent {
				for i := range p.Attrs {
					a := &p.Attrs[i]
					if a.Space != xmldom.XMLNamespace {
						continue
					}
					switch a.Local() {
					case "lang":
						if lang == nil {
							lang = a
						}
					case "space":
						if space == nil {
							space = a
						}
					case "base":
						if base == nil {
							base, baseOwner = a, p
						}
					}
				}
			}
		}
		if lang != nil {
			list = append(list, *lang)
		}
		if space != nil {
			list = append(list, *space)
		}
		if base != nil {
			v := base.Value
			if orphan {
				var err error
				if v, err = fixupBase(v, baseOwner); err != nil {
					return err
				}
			}
			if v != "" {
				list = append(list, xmldom.Attr{Name: "xml:base", Space: xmldom.XMLNamespace, Value: v})
			}
		}
	}
	if len(list) > 1 {
		slices.SortFunc(list, compareAttrs)
	}
	for i := range list {
		a := &list[i]
		c.writeByte(' ')
		c.write(a.Name)
		c.write(`="`)
		c.escape(a.Value, escAttr)
		c.writeByte('"')
	}
	return nil
}

func compareAttrs(a, b xmldom.Attr) int {
	{
		if a.Space != b.Space {
			if a.Space == "" {
				return -1
			}
			if b.Space == "" {
				return 1
			}
			return strings.Compare(a.Space, b.Space)
		}
		return strings.Compare(a.Local(), b.Local())
	}
}

func hasAttr(list []xmldom.Attr, space, local string) bool {
	for i := range list {
		if list[i].Space == space && list[i].Local() == local {
			return true
		}
	}
	return false
}

const (
	escText = iota
	escAttr
	escPI
)

func (c *canon) text(s string) { c.escape(s, escText) }

// escape writes s with the canonical escapes of its context.
func (c *canon) escape(s string, mode int) {
	last := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			if mode != escPI {
				rep = "&amp;"
			}
		case '<':
			if mode != escPI {
				rep = "&lt;"
			}
		case '>':
			if mode == escText {
				rep = "&gt;"
			}
		case '"':
			if mode == escAttr {
				rep = "&quot;"
			}
		case '\t':
			if mode == escAttr {
				rep = "&#x9;"
			}
		case '\n':
			if mode == escAttr {
				rep = "&#xA;"
			}
		case '\r':
			rep = "&#xD;"
		}
		if rep != "" {
			c.write(s[last:i])
			c.write(rep)
			last = i + 1
		}
	}
	c.write(s[last:])
}
