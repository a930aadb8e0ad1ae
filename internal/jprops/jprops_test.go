package jprops

import (
	"errors"
	"maps"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{"empty", "", map[string]string{}},
		{"store header", "#\n#Sun Nov 22 21:00:00 CET 2026\nmode=implicit\n", map[string]string{"mode": "implicit"}},
		{"separators", "a=1\nb:2\nc 3\nd\t=\t4\ne   :   5\n", map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}},
		{"key only", "flag\n", map[string]string{"flag": ""}},
		{"comments", "# c\n! d\n  # indented\nk=v # not a comment\n", map[string]string{"k": "v # not a comment"}},
		{"escapes in key and value", `C\:\\Users\\x=C\:\\dir\\file` + "\n", map[string]string{`C:\Users\x`: `C:\dir\file`}},
		{"escaped separator in key", `a\=b=c` + "\n", map[string]string{"a=b": "c"}},
		{"escaped space key", `a\ b=c` + "\n", map[string]string{"a b": "c"}},
		{"unicode escape", `name=Espa\u00F1a` + "\n", map[string]string{"name": "España"}},
		{"literal utf8", "name=España\n", map[string]string{"name": "España"}},
		{"surrogate pair", `e=\uD83D\uDE00` + "\n", map[string]string{"e": "😀"}},
		{"control escapes", `v=a\tb\nc\rd\fe` + "\n", map[string]string{"v": "a\tb\nc\rd\fe"}},
		{"unknown escape", `v=\q\#\!` + "\n", map[string]string{"v": "q#!"}},
		{"continuation", "k=one \\\n    two\\\n\tthree\n", map[string]string{"k": "one twothree"}},
		{"continuation crlf", "k=a\\\r\n  b\r\nz=1\r\n", map[string]string{"k": "ab", "z": "1"}},
		{"cr only", "a=1\rb=2\r", map[string]string{"a": "1", "b": "2"}},
		{"even backslashes no continuation", "k=a\\\\\nj=b\n", map[string]string{"k": `a\`, "j": "b"}},
		{"duplicate last wins", "k=1\nk=2\n", map[string]string{"k": "2"}},
		{"value keeps trailing spaces", "k=v  \n", map[string]string{"k": "v  "}},
		{"second separator kept", "k==v\n", map[string]string{"k": "=v"}},
		{"ws then equals", "k = = v\n", map[string]string{"k": "= v"}},
		{"bom", "\uFEFFk=v\n", map[string]string{"k": "v"}},
		{"trailing backslash at eof", "k=v\\", map[string]string{"k": "v"}},
		{"blank lines", "\n\n  \nk=v\n\n", map[string]string{"k": "v"}},
		{"comment after continuation is data", "k=a\\\n#b\n", map[string]string{"k": "a#b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !maps.Equal(got, tt.want) {
				t.Fatalf("Parse(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{`k=\u12`, `k=\uZZZZ`, "k=\xff\xfe", `k=\u`} {
		if _, err := Parse(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) err = %v, want ErrSyntax", in, err)
		}
	}
}

func TestFormatRoundTrip(t *testing.T) {
	m := map[string]string{
		"mode": "implicit", `C:\path`: `C:\dir\f=x:y#z!`, " lead": " lead val", "multi": "a\nb\tc\r",
		"uni": "España 😀", "ctl": "\x01", "policyQualifier": "https://example.org/p.pdf",
	}
	text := Format(m, "trifirma\nline2")
	got, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, m) {
		t.Fatalf("round trip\n got %q\nwant %q\ntext %q", got, m, text)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a=b\n", "#c\nk:v\\\n  w\n", `k=\u00e9`, "a b c\r\nd", `\=\:=\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		// Whatever parses must survive a Format/Parse round trip unchanged.
		back, err := Parse(Format(m, ""))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !maps.Equal(m, back) {
			t.Fatalf("round trip changed %q into %q", m, back)
		}
	})
}
