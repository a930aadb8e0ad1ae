package trifirma_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with -update)", name, err)
	}
	if string(want) != string(got) {
		t.Fatalf("%s differs from golden:\n got %q\nwant %q", name, got, want)
	}
}

func sampleSession() *trifirma.TriphaseData {
	a := &trifirma.SignData{ID: "7c4b-uuid"}
	a.Set(trifirma.ParamPRE, "MYIBAA==")
	a.Set(trifirma.ParamNeedPRE, "true")
	a.Set(trifirma.ParamNeedData, "true")
	b := &trifirma.SignData{ID: "tgt<&>\"", SignID: "sig-1"}
	b.Set(trifirma.ParamPRE, "AAEC")
	return &trifirma.TriphaseData{Format: "CAdES", Signs: []*trifirma.SignData{a, b}}
}

func TestTriphaseDataMarshalGolden(t *testing.T) {
	golden(t, "session.golden.xml", sampleSession().Marshal())
}

func TestTriphaseDataRoundTrip(t *testing.T) {
	td := sampleSession()
	back, err := trifirma.ParseTriphaseData(td.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Marshal()) != string(td.Marshal()) {
		t.Fatalf("round trip changed the session:\n%s\n%s", back.Marshal(), td.Marshal())
	}
	if got := back.Find("sig-1"); len(got) != 1 || got[0].ID != `tgt<&>"` {
		t.Fatalf("Find(signid) = %v", got)
	}
	if got := back.Find("7c4b-uuid"); len(got) != 1 {
		t.Fatalf("Find(Id) = %v", got)
	}
}

func TestParseTriphaseDataTolerant(t *testing.T) {
	in := `<?xml version="1.0"?><session frmt="CAdES" op="FIRMAR"><FIRMAS format="XAdES">
	  <firma Id="001" signid="s"><param n="PRE">
	     AAEC
	  </param><param n="PK1">AwQF</param><other>x</other></firma>
	  <anything><param n="X">y</param></anything></FIRMAS><ignored/></session>`
	td, err := trifirma.ParseTriphaseData([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if td.Format != "XAdES" || len(td.Signs) != 2 {
		t.Fatalf("got %+v", td)
	}
	if v, _ := td.Signs[0].Get("PRE"); v != "AAEC" {
		t.Fatalf("PRE not trimmed: %q", v)
	}
	if b, err := td.Signs[0].Bytes("PK1"); err != nil || len(b) != 3 {
		t.Fatalf("PK1 bytes: %v %v", b, err)
	}
}

func TestParseTriphaseDataErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":      "",
		"not xml":    "OK NEWID=abc",
		"no firmas":  "<xml><signs/></xml>",
		"doctype":    `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><firmas><firma><param n="a">&e;</param></firma></firmas></xml>`,
		"entity":     `<xml><firmas><firma><param n="a">&e;</param></firma></firmas></xml>`,
		"unclosed":   "<xml><firmas><firma>",
		"deep":       "<xml><firmas><firma><param n='a'><b>x</b></param></firma></firmas></xml>",
		"mismatched": "<xml><firmas></xml></firmas>",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := trifirma.ParseTriphaseData([]byte(in)); !errors.Is(err, trifirma.ErrInvalidSession) {
				t.Fatalf("err = %v, want ErrInvalidSession", err)
			}
		})
	}
}

// TestReferenceSessions parses the reference implementation's session samples.
func TestReferenceSessions(t *testing.T) {
	dir := testenv.Refdata(t, "triphase")
	for _, name := range []string{"triphasesession.xml", "TriPhaseData.xml"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		td, err := trifirma.ParseTriphaseData(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(td.Signs) != 1 {
			t.Fatalf("%s: %d signs", name, len(td.Signs))
		}
		for _, p := range []string{"PRE", "PK1", "NEED_PRE", "NEED_DATA"} {
			if _, ok := td.Signs[0].Get(p); !ok {
				t.Errorf("%s: missing %s", name, p)
			}
		}
	}
}

func FuzzParseTriphaseData(f *testing.F) {
	f.Add(sampleSession().Marshal())
	f.Add([]byte("<xml><firmas><firma Id='1'><param n='PRE'>AA==</param></firma></firmas></xml>"))
	f.Add([]byte("<a><FIRMAS/></a>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		td, err := trifirma.ParseTriphaseData(data)
		if err != nil {
			return
		}
		// Anything accepted must survive our own serialisation.
		back, err := trifirma.ParseTriphaseData(td.Marshal())
		if err != nil {
			t.Fatalf("re-parse of our own output failed: %v\n%s", err, td.Marshal())
		}
		if len(back.Signs) != len(td.Signs) {
			t.Fatalf("sign count changed")
		}
	})
}
