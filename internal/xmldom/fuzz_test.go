package xmldom

import (
	"testing"
)

// FuzzParse checks that the parser never panics, and that accepted documents have
// consistent offsets.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`<a/>`,
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a b=\"\xe9\"/>",
		"<a xmlns='urn:a' xmlns:p='urn:p'><p:b p:c='1'>t&amp;&#x10FFFF;<![CDATA[x]]><!--c--><?p d?></p:b></a>",
		"\xff\xfe<\x00a\x00/\x00>\x00",
		`<!DOCTYPE a><a/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data, Limits{MaxDepth: 64, MaxElements: 10000})
		if err != nil {
			return
		}
		var walk func(n *Node)
		walk = func(n *Node) {
			if n.Start < 0 || int(n.End) > len(d.Source) || n.Start > n.End {
				t.Fatalf("bad span %d..%d", n.Start, n.End)
			}
			if n.Kind == ElementNode && (n.InnerStart < n.Start || n.InnerEnd > n.End || n.InnerStart > n.InnerEnd) {
				t.Fatalf("bad inner span")
			}
			for c := n.FirstChild; c != nil; c = c.Next {
				if c.Parent != n {
					t.Fatalf("bad parent link")
				}
				walk(c)
			}
		}
		walk(&d.Node)
		_ = d.Encode([]byte(d.Source))
	})
}
