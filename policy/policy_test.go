package policy_test

import (
	"crypto"
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/policy"
)

func TestExpand(t *testing.T) {
	cases := []struct {
		name   string
		in     trifirma.Params
		format trifirma.Format
		size   int64
		want   trifirma.Params
	}{
		{"cades age", trifirma.Params{"expPolicy": "FirmaAGE"}, trifirma.FormatCAdES, policy.DataSizeUnknown, trifirma.Params{
			"policyIdentifier": "urn:oid:2.16.724.1.3.1.1.2.1.9", "policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0=",
			"policyIdentifierHashAlgorithm": "http://www.w3.org/2000/09/xmldsig#sha1",
			"policyQualifier":               "https://sede.administracion.gob.es/politica_de_firma_anexo_1.pdf", "profile": "advanced"}},
		{"cades age18 small data", trifirma.Params{"expPolicy": "FirmaAGE18", "profile": "baseline"}, trifirma.FormatCAdES, 1000, trifirma.Params{
			"policyIdentifier": "urn:oid:2.16.724.1.3.1.1.2.1.8", "policyIdentifierHash": "7SxX3erFuH31TvAw9LZ70N7p1vA=",
			"policyIdentifierHashAlgorithm": "http://www.w3.org/2000/09/xmldsig#sha1",
			"policyQualifier":               "https://sede.administracion.gob.es/PAG_Sede/dam/jcr:b0de3f91-5171-48e2-81f3-5c2407d9c091/politica_firma_AGE_v1_8.pdf",
			"profile":                       "advanced", "mode": "implicit"}},
		{"cades large data", trifirma.Params{"expPolicy": "FirmaAGE"}, trifirma.FormatCAdES, policy.ImplicitModeLimit, nil},
		{"cades mode kept", trifirma.Params{"expPolicy": "FirmaAGE", "mode": "explicit"}, trifirma.FormatCAdES, 10, nil},
		{"xades enveloping forced detached", trifirma.Params{"expPolicy": "FirmaAGE18", "format": "XAdES Enveloping"}, trifirma.FormatXAdES, 10, trifirma.Params{
			"policyIdentifier": "urn:oid:2.16.724.1.3.1.1.2.1.8", "policyIdentifierHash": "V8lVVNGDCPen6VELRD1Ja8HARFk=",
			"policyIdentifierHashAlgorithm": "http://www.w3.org/2000/09/xmldsig#sha1",
			"policyQualifier":               "https://sede.administracion.gob.es/PAG_Sede/dam/jcr:b0de3f91-5171-48e2-81f3-5c2407d9c091/politica_firma_AGE_v1_8.pdf",
			"profile":                       "advanced", "format": "XAdES Detached"}},
		{"xades enveloped kept", trifirma.Params{"expPolicy": "FirmaAGE", "format": "XAdES Enveloped"}, trifirma.FormatXAdES, 10, nil},
		{"pades", trifirma.Params{"expPolicy": "FirmaAGE"}, trifirma.FormatPAdES, 10, trifirma.Params{
			"policyIdentifier": "urn:oid:2.16.724.1.3.1.1.2.1.9", "policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0=",
			"policyIdentifierHashAlgorithm": "http://www.w3.org/2000/09/xmldsig#sha1",
			"policyQualifier":               "https://sede.administracion.gob.es/politica_de_firma_anexo_1.pdf", "signatureSubFilter": "ETSI.CAdES.detached"}},
		{"no expPolicy", trifirma.Params{"mode": "implicit"}, trifirma.FormatCAdES, 10, trifirma.Params{"mode": "implicit"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orig := c.in.Clone()
			got, err := policy.Expand(c.in, c.format, trifirma.OpSign, c.size)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(c.in, orig) {
				t.Fatal("input modified")
			}
			if _, ok := got["expPolicy"]; ok {
				t.Fatal("expPolicy kept")
			}
			if c.want != nil && !maps.Equal(got, c.want) {
				t.Fatalf("got %v\nwant %v", got, c.want)
			}
			switch c.name {
			case "cades large data":
				if got["mode"] != "explicit" {
					t.Fatalf("mode %q", got["mode"])
				}
			case "cades mode kept":
				if got["mode"] != "explicit" {
					t.Fatalf("mode %q", got["mode"])
				}
			case "xades enveloped kept":
				if got["format"] != "XAdES Enveloped" {
					t.Fatalf("format %q", got["format"])
				}
			}
			// Idempotent: expanding the expansion changes nothing.
			again, err := policy.Expand(got, c.format, trifirma.OpSign, c.size)
			if err != nil || !maps.Equal(again, got) {
				t.Fatalf("not idempotent: %v %v", again, err)
			}
			if _, err := policy.FromParams(got); err != nil {
				t.Fatalf("expanded parameters do not parse: %v", err)
			}
		})
	}
}

func TestExpandIncompatible(t *testing.T) {
	codes := map[trifirma.Operation]trifirma.RequestorCode{
		trifirma.OpSign: trifirma.NeedAGEPolicyIncompatibleSign, trifirma.OpCoSign: trifirma.NeedAGEPolicyIncompatibleCosign,
		trifirma.OpCounterSign: trifirma.NeedAGEPolicyIncompatibleCSign,
	}
	for _, c := range []struct {
		p trifirma.Params
		f trifirma.Format
	}{
		{trifirma.Params{"expPolicy": "FirmaAGE19"}, trifirma.FormatCAdES},
		{trifirma.Params{"expPolicy": "Other"}, trifirma.FormatXAdES},
		{trifirma.Params{"expPolicy": "FirmaAGE18"}, trifirma.FormatPAdES},
		{trifirma.Params{"expPolicy": "FirmaAGE", "signatureSubFilter": "adbe.pkcs7.detached"}, trifirma.FormatPAdES},
		{trifirma.Params{"expPolicy": "FirmaAGE"}, trifirma.FormatCAdESASiCS},
		{trifirma.Params{"expPolicy": "FirmaAGE"}, trifirma.FormatFacturaE},
	} {
		for op, code := range codes {
			_, err := policy.Expand(c.p, c.f, op, 10)
			var cn *trifirma.ConfigNeededError
			if !errors.As(err, &cn) || cn.Code != code || cn.Param != "avoidAGEPolicyIncompatibilities" || cn.Denied {
				t.Fatalf("%v %s %s: %v", c.p, c.f, op, err)
			}
			denied := c.p.Clone()
			denied["avoidAGEPolicyIncompatibilities"] = "false"
			if _, err := policy.Expand(denied, c.f, op, 10); !errors.As(err, &cn) || !cn.Denied {
				t.Fatalf("denied: %v", err)
			}
			avoid := c.p.Clone()
			avoid["avoidAGEPolicyIncompatibilities"] = "true"
			got, err := policy.Expand(avoid, c.f, op, 10)
			if err != nil || got["expPolicy"] != "" || got["policyIdentifier"] != "" {
				t.Fatalf("avoid: %v %v", got, err)
			}
		}
	}
}

func TestFromParams(t *testing.T) {
	p, err := policy.FromParams(trifirma.Params{"policyIdentifier": "urn:oid:2.16.724.1.3.1.1.2.1.9",
		"policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0=", "policyIdentifierHashAlgorithm": "http://www.w3.org/2000/09/xmldsig#sha1",
		"policyQualifier": "https://example.org/p.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	if p.OID.String() != "2.16.724.1.3.1.1.2.1.9" || p.HashAlgorithm != crypto.SHA1 || len(p.Hash) != 20 || p.Qualifier == "" {
		t.Fatalf("%+v", p)
	}
	if p, err := policy.FromParams(trifirma.Params{}); p != nil || err != nil {
		t.Fatal("no policy expected")
	}
	u, err := policy.FromParams(trifirma.Params{"policyIdentifier": "http://example.org/policy.pdf",
		"policyIdentifierHash": "1uMvRc4Xu3T5Ib+dLfXbWzqyVVMSMqMZAi4a9Ni/C+o=", "policyIdentifierHashAlgorithm": "SHA-256"})
	if err != nil || u.OID != nil {
		t.Fatalf("URL identifier: %+v %v", u, err)
	}
	for name, bad := range map[string]trifirma.Params{
		"no hash (never downloaded)": {"policyIdentifier": "http://example.org/p.pdf"},
		"hash 0":                     {"policyIdentifier": "1.2.3", "policyIdentifierHash": "0"},
		"not base64":                 {"policyIdentifier": "1.2.3", "policyIdentifierHash": "%%%", "policyIdentifierHashAlgorithm": "SHA1"},
		"no algorithm":               {"policyIdentifier": "1.2.3", "policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0="},
		"md5":                        {"policyIdentifier": "1.2.3", "policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0=", "policyIdentifierHashAlgorithm": "MD5"},
		"size":                       {"policyIdentifier": "1.2.3", "policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0=", "policyIdentifierHashAlgorithm": "SHA-512"},
		"qualifier":                  {"policyIdentifier": "1.2.3", "policyIdentifierHash": "G7roucf600+f03r/o0bAOQ6WAs0=", "policyIdentifierHashAlgorithm": "SHA1", "policyQualifier": "not a url"},
	} {
		if _, err := policy.FromParams(bad); !errors.Is(err, trifirma.ErrInvalidParams) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseOID(t *testing.T) {
	for _, ok := range []string{"1.2.3", "urn:oid:2.16.724.1", "URN:OID:0.4.0.1733.2.1", "2.999.1"} {
		if _, err := policy.ParseOID(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1", "a.b", "1..2", "3.1", "1.40", "1.-2", "01.2", "1.2.99999999999999999999"} {
		if _, err := policy.ParseOID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFacturaEAndAGEHelpers(t *testing.T) {
	for _, v := range []string{"3.1", "3.0", ""} {
		p, err := policy.FacturaE(v)
		if err != nil || p.HashAlgorithm != crypto.SHA1 || len(p.Hash) != 20 {
			t.Fatalf("%s: %+v %v", v, p, err)
		}
		params := trifirma.Params{}
		p.Set(params)
		back, err := policy.FromParams(params)
		if err != nil || back.Identifier != p.Identifier {
			t.Fatalf("round trip: %v", err)
		}
	}
	if _, err := policy.FacturaE("3.2"); !errors.Is(err, trifirma.ErrInvalidParams) {
		t.Fatal(err)
	}
	if !policy.IsAGE("urn:oid:2.16.724.1.3.1.1.2.1.9") || !policy.IsAGE("2.16.724.1.3.1.1.2.1.8") || policy.IsAGE("1.2.3") {
		t.Fatal("IsAGE")
	}
	age, _ := policy.Expand(trifirma.Params{"expPolicy": "FirmaAGE"}, trifirma.FormatXAdES, trifirma.OpCoSign, 1)
	_, err := policy.ResolveAGEIncompatibility(age, trifirma.OpCoSign, "XAdES enveloping co-signature")
	var cn *trifirma.ConfigNeededError
	if !errors.As(err, &cn) || cn.Code != trifirma.NeedAGEPolicyIncompatibleCosign {
		t.Fatal(err)
	}
	age["avoidAGEPolicyIncompatibilities"] = "true"
	out, err := policy.ResolveAGEIncompatibility(age, trifirma.OpCoSign, "x")
	if err != nil || out["policyIdentifier"] != "" {
		t.Fatalf("%v %v", out, err)
	}
}

// Expand the AGE preset for a CAdES batch entry whose data size is known.
func ExampleExpand() {
	p, err := policy.Expand(trifirma.Params{"expPolicy": "FirmaAGE"}, trifirma.FormatCAdES, trifirma.OpSign, 2048)
	if err != nil {
		fmt.Println(err)
		return
	}
	pol, _ := policy.FromParams(p)
	fmt.Println(p["mode"], pol.OID, trifirma.DigestName(pol.HashAlgorithm))
	// Output: implicit 2.16.724.1.3.1.1.2.1.9 SHA1
}
