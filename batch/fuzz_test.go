package batch_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/batch"
)

// FuzzParseJSON: the JSON batch codec never panics, fails only with ErrInvalidBatch, and what
// it accepts survives a round trip through MarshalJSON.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"algorithm":"SHA256","format":"CAdES","singlesigns":[{"id":"a","datareference":"eA=="}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := batch.ParseJSON(data)
		if err != nil {
			if !errors.Is(err, batch.ErrInvalidBatch) {
				t.Fatalf("error not wrapping ErrInvalidBatch: %v", err)
			}
			return
		}
		out, err := b.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON of a parsed batch: %v", err)
		}
		b2, err := batch.ParseJSON(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !reflect.DeepEqual(b, b2) {
			t.Fatalf("round trip changed the batch:\n%+v\n%+v\n%s", b, b2, out)
		}
	})
}

// FuzzParseXML: the XML batch codec never panics, fails only with ErrInvalidBatch or
// ErrLimits, and what it accepts survives a round trip through AppendXML.
func FuzzParseXML(f *testing.F) {
	f.Add([]byte(`<signbatch algorithm="SHA256withRSA"><singlesign Id="a"><datasource>eA==</datasource><format>CAdES</format><signsaver><class>c</class></signsaver></singlesign></signbatch>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := batch.ParseXML(data)
		if err != nil {
			if !errors.Is(err, batch.ErrInvalidBatch) && !errors.Is(err, batch.ErrLimits) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		out, err := b.AppendXML(nil)
		if err != nil {
			t.Fatalf("AppendXML of a parsed batch: %v", err)
		}
		b2, err := batch.ParseXML(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !reflect.DeepEqual(b, b2) {
			t.Fatalf("round trip changed the batch:\n%+v\n%+v\n%s", b, b2, out)
		}
	})
}

// FuzzParseJSONSession: the tridata parser never panics, fails only with ErrInvalidSession,
// and what it accepts survives a round trip through AppendJSONSession.
func FuzzParseJSONSession(f *testing.F) {
	f.Add([]byte(`{"format":"CAdES","signinfo":[{"id":"a","params":{"PRE":"AA==","PK1":"BB=="}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		td, err := batch.ParseJSONSession(data)
		if err != nil {
			if !errors.Is(err, trifirma.ErrInvalidSession) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		out := batch.AppendJSONSession(nil, td.Format, td)
		td2, err := batch.ParseJSONSession(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if len(td.Signs) == 0 {
			td.Signs = nil
		}
		if len(td2.Signs) == 0 {
			td2.Signs = nil
		}
		if !reflect.DeepEqual(td, td2) {
			t.Fatalf("round trip changed the session:\n%+v\n%+v\n%s", td, td2, out)
		}
	})
}
