package c14n

import (
	"fmt"
	"strings"

	"github.com/trifirma/trifirma/internal/xmldom"
)

// fixupBase computes the Canonical XML 1.1 xml:base value of an orphan element whose
// xml:base (value v) sits on owner, joining the xml:base of every omitted ancestor of owner
// as libxml2 does (including its habit of appending "/" to a base whose next-to-last
// character is '.').
func fixupBase(v string, owner *xmldom.Node) (string, error) {
	for p := owner.Parent; p != nil && p.Kind == xmldom.ElementNode; p = p.Parent {
		b, ok := p.Attr(xmldom.XMLNamespace, "base")
		if !ok {
			continue
		}
		if len(b) > 1 && b[len(b)-2] == '.' {
			b += "/"
		}
		var err error
		if v, err = resolveURI(v, b); err != nil {
			return "", err
		}
	}
	return v, nil
}

type uriParts struct {
	scheme, authority, path, query, fragment string
	hasScheme, hasAuth, hasQuery, hasFrag    bool
}

func splitURI(s string) uriParts {
	var u uriParts
	if i := strings.IndexByte(s, '#'); i >= 0 {
		u.fragment, u.hasFrag = s[i+1:], true
		s = s[:i]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		u.query, u.hasQuery = s[i+1:], true
		s = s[:i]
	}
	if hasScheme(s) {
		i := strings.IndexByte(s, ':')
		u.scheme, u.hasScheme = s[:i], true
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "//") {
		s = s[2:]
		i := strings.IndexByte(s, '/')
		if i < 0 {
			i = len(s)
		}
		u.authority, u.hasAuth = s[:i], true
		s = s[i:]
	}
	u.path = s
	return u
}

func (u uriParts) String() string {
	var b strings.Builder
	if u.hasScheme {
		b.WriteString(u.scheme)
		b.WriteByte(':')
	}
	if u.hasAuth {
		b.WriteString("//")
		b.WriteString(u.authority)
	}
	b.WriteString(u.path)
	if u.hasQuery {
		b.WriteByte('?')
		b.WriteString(u.query)
	}
	if u.hasFrag {
		b.WriteByte('#')
		b.WriteString(u.fragment)
	}
	return b.String()
}

// safeURI reports whether s only holds characters libxml2's URI writer leaves unchanged.
func safeURI(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~:/?#@!$&'()*+,;=", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// resolveURI resolves ref against base (RFC 3986 section 5.2, as libxml2's xmlBuildURI).
func resolveURI(ref, base string) (string, error) {
	if !safeURI(ref) || !safeURI(base) {
		return "", fmt.Errorf("%w: xml:base fix-up of %q against %q", ErrUnsupported, ref, base)
	}
	r := splitURI(ref)
	if r.hasScheme {
		return ref, nil
	}
	b := splitURI(base)
	if ref == "" {
		b.hasFrag, b.fragment = false, ""
		return b.String(), nil
	}
	res := uriParts{scheme: b.scheme, hasScheme: b.hasScheme}
	if !r.hasAuth && r.path == "" {
		res.authority, res.hasAuth = b.authority, b.hasAuth
		res.path = b.path
		if r.hasQuery {
			res.query, res.hasQuery = r.query, true
		} else {
			res.query, res.hasQuery = b.query, b.hasQuery
		}
		res.fragment, res.hasFrag = r.fragment, r.hasFrag
		return res.String(), nil
	}
	res.query, res.hasQuery = r.query, r.hasQuery
	res.fragment, res.hasFrag = r.fragment, r.hasFrag
	if r.hasAuth {
		res.authority, res.hasAuth = r.authority, true
		res.path = r.path
		return res.String(), nil
	}
	res.authority, res.hasAuth = b.authority, b.hasAuth
	if strings.HasPrefix(r.path, "/") {
		res.path = r.path
		return res.String(), nil
	}
	merged := ""
	if i := strings.LastIndexByte(b.path, '/'); i >= 0 {
		merged = b.path[:i+1]
	}
	if r.path != "" {
		if merged == "" && b.hasAuth {
			merged = "/"
		}
		merged += r.path
	}
	res.path = normalizePath(merged)
	return res.String(), nil
}

// normalizePath removes "." segments and "segment/.." pairs, keeping leading ".." segments
// (libxml2's xmlNormalizeURIPath).
func normalizePath(p string) string {
	abs := strings.HasPrefix(p, "/")
	segs := strings.Split(p, "/")
	if abs {
		segs = segs[1:]
	}
	var out []string
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
			continue
		case "..":
			if len(out) > 0 && out[len(out)-1] != ".." && out[len(out)-1] != "" {
				out = out[:len(out)-1]
				if last {
					out = append(out, "")
				}
				continue
			}
		}
		out = append(out, s)
	}
	r := strings.Join(out, "/")
	if abs {
		r = "/" + r
	}
	return r
}
