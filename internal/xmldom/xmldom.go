// Package xmldom is a small, safe XML 1.0 parser that builds the document model XML
// canonicalisation needs.
//
// Unlike encoding/xml it applies the normalisations every conforming processor (libxml2,
// Xerces/Java) applies before canonicalisation: line ends (CR LF and lone CR become LF),
// attribute-value normalisation (literal tab, LF and CR in an attribute become spaces, while
// character references such as &#x9; survive), the five predefined entities and character
// references. Namespaces are resolved and checked.
//
// It refuses, instead of processing: DOCTYPE declarations (hence any DTD, entity declaration or
// external entity), undefined entities, XML 1.1, malformed UTF-8, characters outside the XML 1.0
// Char production, unbound prefixes, duplicate attributes, and documents that exceed [Limits].
//
// The input may be UTF-8 (with or without BOM), US-ASCII, ISO-8859-1, ISO-8859-15,
// windows-1252 or UTF-16 (LE/BE, with BOM or detected from "<?"). The model holds UTF-8;
// [Document.Source] is the decoded text and every node records its byte span in it, so callers
// can splice new content into the original text and re-encode it with [Document.Encode].
package xmldom

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Kind is the type of a Node.
type Kind uint8

// Node kinds.
const (
	DocumentNode Kind = iota
	ElementNode
	TextNode
	CommentNode
	ProcInstNode
)

// XMLNamespace is the namespace bound to the reserved prefix "xml".
const XMLNamespace = "http://www.w3.org/XML/1998/namespace"

// XMLNSNamespace is the namespace of namespace declarations.
const XMLNSNamespace = "http://www.w3.org/2000/xmlns/"

// Node is a document, element, text (or CDATA section), comment or processing instruction.
type Node struct {
	Kind Kind
	// CDATA reports a text node that comes from a CDATA section.
	CDATA                               bool
	Parent, FirstChild, LastChild, Next *Node
	// Name is the element QName (prefix:local) or the PI target.
	Name string
	// Space is the element's namespace URI ("" for none).
	Space string
	// Data is the value of a text node (references resolved, line ends normalised), the text
	// of a comment, or the data of a PI (after the white space that follows the target).
	Data string
	// Attrs are the element's attributes other than namespace declarations, in document order.
	Attrs []Attr
	// NS are the namespace declarations on the element, in document order (Prefix "" is the
	// default namespace; URI "" undeclares it).
	NS []NS
	// Start and End delimit the node in Document.Source: for an element, from its '<' to just
	// after its end tag (or "/>"); for the document, the whole source.
	Start, End int32
	// InnerStart and InnerEnd delimit an element's content (InnerStart == InnerEnd for an
	// empty element; for "<a/>" both equal End).
	InnerStart, InnerEnd int32
}

// Attr is an attribute. Name is the QName as written; Space its namespace URI ("" for an
// unprefixed attribute); Value is normalised.
type Attr struct {
	Name, Space, Value string
}

// Prefix returns the prefix of the attribute name ("" if none).
func (a *Attr) Prefix() string { p, _ := splitQName(a.Name); return p }

// Local returns the local part of the attribute name.
func (a *Attr) Local() string { _, l := splitQName(a.Name); return l }

// NS is a namespace declaration.
type NS struct {
	Prefix, URI string
}

// Document is a parsed XML document.
type Document struct {
	Node
	// Source is the document text decoded to UTF-8, without byte order mark.
	Source string
	// Encoding is the canonical name of the input encoding: UTF-8, US-ASCII, ISO-8859-1,
	// ISO-8859-15, windows-1252, UTF-16LE or UTF-16BE.
	Encoding string
	// DeclaredEncoding is the encoding named by the XML declaration ("" when absent).
	DeclaredEncoding string
	// BOM reports a byte order mark at the start of the input.
	BOM bool
	// DeclEnd is the offset just after the XML declaration (0 when there is none).
	DeclEnd int

	ids map[string][]*Node
}

// Limits bound the resources a parse may use. Zero fields take the defaults.
type Limits struct {
	MaxBytes    int // decoded input size (default 256 MiB; at most 2 GiB-1, offsets are int32)
	MaxDepth    int // element nesting (default 256)
	MaxElements int // element count (default 10,000,000)
	MaxAttrs    int // attributes per element, namespace declarations included (default 1024)
}

// Default limits.
const (
	DefaultMaxBytes    = 256 << 20
	DefaultMaxDepth    = 256
	DefaultMaxElements = 10_000_000
	DefaultMaxAttrs    = 1024
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 || l.MaxBytes > math.MaxInt32 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = DefaultMaxAttrs
	}
	return l
}

// ErrLimit is wrapped by errors reporting that a document exceeds a [Limits] bound.
var ErrLimit = errors.New("xmldom: document exceeds a parser limit")

// ErrDTD is wrapped by errors reporting a DOCTYPE declaration (never processed).
var ErrDTD = errors.New("xmldom: DOCTYPE declarations are not allowed")

// SyntaxError reports malformed XML (or a refused construct) at a byte offset of the decoded
// source.
type SyntaxError struct {
	Offset, Line int
	Msg          string
	err          error
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("xml: line %d (offset %d): %s", e.Line, e.Offset, e.Msg)
}

// Unwrap returns ErrLimit or ErrDTD when the error is one of those.
func (e *SyntaxError) Unwrap() error { return e.err }

// Prefix returns the prefix of an element's name ("" if none).
func (n *Node) Prefix() string { p, _ := splitQName(n.Name); return p }

// Local returns the local part of an element's name.
func (n *Node) Local() string { _, l := splitQName(n.Name); return l }

// Is reports whether n is an element with the given namespace and local name.
func (n *Node) Is(space, local string) bool {
	return n != nil && n.Kind == ElementNode && n.Space == space && n.Local() == local
}

// Attr returns the value of the attribute with the given namespace and local name.
func (n *Node) Attr(space, local string) (string, bool) {
	for i := range n.Attrs {
		a := &n.Attrs[i]
		if a.Space == space && a.Local() == local {
			return a.Value, true
		}
	}
	return "", false
}

// AttrValue returns the value of an unqualified attribute, or "".
func (n *Node) AttrValue(local string) string {
	v, _ := n.Attr("", local)
	return v
}

// Elements returns the element children of n.
func (n *Node) Elements() []*Node {
	var out []*Node
	for c := n.FirstChild; c != nil; c = c.Next {
		if c.Kind == ElementNode {
			out = append(out, c)
		}
	}
	return out
}

// FirstElement returns the first element child with the given namespace and local name.
func (n *Node) FirstElement(space, local string) *Node {
	for c := n.FirstChild; c != nil; c = c.Next {
		if c.Is(space, local) {
			return c
		}
	}
	return nil
}

// Text returns the concatenated text of n's descendants (XPath string value).
func (n *Node) Text() string {
	switch n.Kind {
	case TextNode, CommentNode, ProcInstNode:
		return n.Data
	}
	var b strings.Builder
	var walk func(*Node)
	walk = func(x *Node) {
		for c := x.FirstChild; c != nil; c = c.Next {
			switch c.Kind {
			case TextNode:
				b.WriteString(c.Data)
			case ElementNode:
				walk(c)
			}
		}
	}
	walk(n)
	return b.String()
}

// LookupNamespace returns the namespace URI bound to prefix at n ("" prefix: the default
// namespace). The "xml" prefix is always bound.
func (n *Node) LookupNamespace(prefix string) (string, bool) {
	if prefix == "xml" {
		return XMLNamespace, true
	}
	for e := n; e != nil && e.Kind == ElementNode; e = e.Parent {
		for i := len(e.NS) - 1; i >= 0; i-- {
			if e.NS[i].Prefix == prefix {
				return e.NS[i].URI, true
			}
		}
	}
	return "", false
}

// InScope returns the namespaces in scope at element n (nearest declaration wins), the xml
// prefix excluded, in no particular order. An undeclared default namespace (xmlns="") is
// reported with URI "".
func (n *Node) InScope() []NS {
	var out []NS
	seen := map[string]bool{}
	for e := n; e != nil && e.Kind == ElementNode; e = e.Parent {
		for _, d := range e.NS {
			if seen[d.Prefix] || d.Prefix == "xml" {
				continue
			}
			seen[d.Prefix] = true
			out = append(out, d)
		}
	}
	return out
}

// Root returns the document element.
func (d *Document) Root() *Node {
	for c := d.FirstChild; c != nil; c = c.Next {
		if c.Kind == ElementNode {
			return c
		}
	}
	return nil
}

// ElementsByID returns the elements whose Id, ID, id or xml:id attribute equals id, in
// document order. More than one result means the document is ambiguous for that id.
func (d *Document) ElementsByID(id string) []*Node { return d.ids[id] }

// IDs calls fn for every identifier value and the elements carrying it.
func (d *Document) IDs(fn func(id string, els []*Node)) {
	for k, v := range d.ids {
		fn(k, v)
	}
}

// Ancestor reports whether a is n or an ancestor of n.
func (n *Node) Ancestor(a *Node) bool {
	for x := n; x != nil; x = x.Parent {
		if x == a {
			return true
		}
	}
	return false
}

// Depth returns the number of element ancestors of n.
func (n *Node) Depth() int {
	d := 0
	for x := n.Parent; x != nil && x.Kind == ElementNode; x = x.Parent {
		d++
	}
	return d
}

func splitQName(q string) (prefix, local string) {
	if i := strings.IndexByte(q, ':'); i >= 0 {
		return q[:i], q[i+1:]
	}
	return "", q
}

// IsIDAttr reports whether an attribute is treated as an identifier (Id, ID, id without
// prefix, or xml:id), as signature references resolve "#value".
func IsIDAttr(a *Attr) bool {
	switch a.Name {
	case "Id", "ID", "id":
		return a.Space == ""
	}
	return a.Space == XMLNamespace && a.Local() == "id"
}
