package xades

import (
	"strconv"
	"strings"

	"github.com/trifirma/trifirma/internal/xmldom"
)

// selectXPath evaluates the subset of XPath 1.0 that insertEnvelopedSignatureOnNodeByXPath
// needs: absolute location paths of child (/) and descendant (//) steps whose node tests are
// "*" or element names as written in the document (prefix included, as a DOM built without
// namespace awareness sees them), each with optional predicates [n], [@a], [@a='v'] and
// [local-name()='v']. It returns the first selected element in document order, or nil.
func selectXPath(doc *xmldom.Document, expr string) (*xmldom.Node, error) {
	e := strings.TrimSpace(expr)
	if !strings.HasPrefix(e, "/") {
		return nil, invalid("%s=%q: only absolute paths are supported", ParamXPathInsert, expr)
	}
	cur := []*xmldom.Node{&doc.Node}
	for e != "" {
		desc := false
		switch {
		case strings.HasPrefix(e, "//"):
			desc, e = true, e[2:]
		case strings.HasPrefix(e, "/"):
			e = e[1:]
		default:
			return nil, invalid("%s=%q: unexpected %q", ParamXPathInsert, expr, e)
		}
		step, rest, err := splitStep(e)
		if err != nil {
			return nil, invalid("%s=%q: %v", ParamXPathInsert, expr, err)
		}
		e = rest
		name, preds, err := parseStep(step)
		if err != nil {
			return nil, invalid("%s=%q: %v", ParamXPathInsert, expr, err)
		}
		var next []*xmldom.Node
		seen := map[*xmldom.Node]bool{}
		for _, c := range cur {
			var cands []*xmldom.Node
			if desc {
				collect(c, &cands)
			} else {
				cands = c.Elements()
			}
			var matched []*xmldom.Node
			for _, n := range cands {
				if name == "*" || n.Name == name {
					matched = append(matched, n)
				}
			}
			for _, pr := range preds {
				matched = pr(matched)
			}
			for _, n := range matched {
				if !seen[n] {
					seen[n] = true
					next = append(next, n)
				}
			}
		}
		cur = next
		if len(cur) == 0 {
			return nil, nil
		}
	}
	if len(cur) == 0 || cur[0].Kind != xmldom.ElementNode {
		return nil, nil
	}
	return cur[0], nil
}

func collect(n *xmldom.Node, out *[]*xmldom.Node) {
	for c := n.FirstChild; c != nil; c = c.Next {
		if c.Kind == xmldom.ElementNode {
			*out = append(*out, c)
			collect(c, out)
		}
	}
}

// splitStep cuts the first step (up to a '/' outside brackets and quotes).
func splitStep(e string) (string, string, error) {
	depth := 0
	var quote byte
	for i := 0; i < len(e); i++ {
		c := e[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '/' && depth == 0:
			return e[:i], e[i:], nil
		}
	}
	if depth != 0 || quote != 0 {
		return "", "", errSyntax("unbalanced brackets or quotes")
	}
	return e, "", nil
}

type xpathError string

func (e xpathError) Error() string { return string(e) }

func errSyntax(s string) error { return xpathError(s) }

type predicate func([]*xmldom.Node) []*xmldom.Node

func parseStep(step string) (string, []predicate, error) {
	i := strings.IndexByte(step, '[')
	name := step
	if i >= 0 {
		name = step[:i]
	}
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, "()@.:") && strings.Count(name, ":") != 1 {
		return "", nil, errSyntax("unsupported node test " + strconv.Quote(name))
	}
	var preds []predicate
	for i >= 0 && i < len(step) {
		j := strings.IndexByte(step[i:], ']')
		if step[i] != '[' || j < 0 {
			return "", nil, errSyntax("malformed predicate")
		}
		body := strings.TrimSpace(step[i+1 : i+j])
		pr, err := parsePredicate(body)
		if err != nil {
			return "", nil, err
		}
		preds = append(preds, pr)
		i += j + 1
		if i < len(step) && step[i] != '[' {
			return "", nil, errSyntax("unexpected text after a predicate")
		}
	}
	return name, preds, nil
}

func parsePredicate(body string) (predicate, error) {
	if n, err := strconv.Atoi(body); err == nil {
		return func(ns []*xmldom.Node) []*xmldom.Node {
			if n >= 1 && n <= len(ns) {
				return ns[n-1 : n]
			}
			return nil
		}, nil
	}
	lhs, val, hasEq := strings.Cut(body, "=")
	lhs = strings.TrimSpace(lhs)
	var want string
	if hasEq {
		v := strings.TrimSpace(val)
		if len(v) < 2 || (v[0] != '\'' && v[0] != '"') || v[len(v)-1] != v[0] {
			return nil, errSyntax("predicate value must be a quoted string")
		}
		want = v[1 : len(v)-1]
	}
	var get func(*xmldom.Node) (string, bool)
	switch {
	case strings.HasPrefix(lhs, "@"):
		an := lhs[1:]
		get = func(n *xmldom.Node) (string, bool) {
			for _, a := range n.Attrs {
				if a.Name == an {
					return a.Value, true
				}
			}
			return "", false
		}
	case lhs == "local-name()" && hasEq:
		get = func(n *xmldom.Node) (string, bool) { return n.Local(), true }
	default:
		return nil, errSyntax("unsupported predicate " + strconv.Quote(body))
	}
	return func(ns []*xmldom.Node) []*xmldom.Node {
		var out []*xmldom.Node
		for _, n := range ns {
			if v, ok := get(n); ok && (!hasEq || v == want) {
				out = append(out, n)
			}
		}
		return out
	}, nil
}
