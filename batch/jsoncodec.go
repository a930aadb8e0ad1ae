package batch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trifirma/trifirma"
)

type jsonBatch struct {
	Algorithm         *string           `json:"algorithm"`
	Format            *string           `json:"format"`
	Suboperation      *string           `json:"suboperation"`
	StopOnError       json.RawMessage   `json:"stoponerror"`
	ConcurrentTimeout json.RawMessage   `json:"concurrenttimeout"`
	ExtraParams       *string           `json:"extraparams"`
	SingleSigns       []json.RawMessage `json:"singlesigns"`
}

type jsonSingle struct {
	ID            *string `json:"id"`
	DataReference *string `json:"datareference"`
	Format        *string `json:"format"`
	Suboperation  *string `json:"suboperation"`
	ExtraParams   *string `json:"extraparams"`
	Result        *string `json:"result"`
	Description   *string `json:"description"`
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidBatch}, a...)...)
}

// ParseJSON decodes a JSON batch definition (the decoded `json` parameter of /presign and
// /postsign): algorithm, format, suboperation, stoponerror (boolean or "true"/"false"),
// concurrenttimeout (seconds), extraparams (Base64 properties) and singlesigns, each with id
// and either datareference (plus optional format, suboperation and extraparams overrides) or
// the result (and description) of an entry the client already finished. Errors wrap
// [ErrInvalidBatch].
func ParseJSON(data []byte) (*Batch, error) {
	if !utf8.Valid(data) {
		return nil, invalid("the JSON batch is not UTF-8")
	}
	var jb jsonBatch
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&jb); err != nil {
		return nil, invalid("malformed JSON batch: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalid("malformed JSON batch: data after the object")
	}
	b := &Batch{}
	var err error
	if jb.Algorithm != nil {
		b.Algorithm = *jb.Algorithm
	}
	if jb.Format != nil {
		if b.Format, err = parseFormat(*jb.Format); err != nil {
			return nil, err
		}
	}
	if jb.Suboperation != nil {
		if b.Operation, err = parseOperation(*jb.Suboperation); err != nil {
			return nil, err
		}
	}
	if b.StopOnError, err = jsonBool(jb.StopOnError, "stoponerror", false); err != nil {
		return nil, err
	}
	if b.ConcurrentTimeout, err = jsonSeconds(jb.ConcurrentTimeout); err != nil {
		return nil, err
	}
	if jb.ExtraParams != nil {
		if b.Params, err = trifirma.DecodeParams(*jb.ExtraParams); err != nil {
			return nil, invalid("the batch extraparams: %v", err)
		}
	}
	if jb.SingleSigns == nil {
		return nil, invalid("the batch has no singlesigns array")
	}
	b.Items = make([]*Item, 0, len(jb.SingleSigns))
	for i, raw := range jb.SingleSigns {
		var js jsonSingle
		if err := json.Unmarshal(raw, &js); err != nil {
			return nil, invalid("singlesigns[%d]: %v", i, err)
		}
		if js.ID == nil || *js.ID == "" {
			return nil, invalid("singlesigns[%d] has no id", i)
		}
		it := &Item{ID: *js.ID}
		switch {
		case js.DataReference != nil:
			it.Source = Source{Kind: SourceReference, Value: *js.DataReference}
			if js.Format != nil {
				if it.Format, err = parseFormat(*js.Format); err != nil {
					return nil, fmt.Errorf("singlesign %q: %w", it.ID, err)
				}
			}
			if js.Suboperation != nil {
				if it.Operation, err = parseOperation(*js.Suboperation); err != nil {
					return nil, fmt.Errorf("singlesign %q: %w", it.ID, err)
				}
			}
			if js.ExtraParams != nil {
				if it.Params, err = trifirma.DecodeParams(*js.ExtraParams); err != nil {
					return nil, invalid("singlesign %q extraparams: %v", it.ID, err)
				}
			}
		case js.Result != nil:
			if it.Result, err = ParseCode(*js.Result); err != nil {
				return nil, fmt.Errorf("singlesign %q: %w", it.ID, err)
			}
			if js.Description != nil {
				it.Description = *js.Description
			}
		default:
			return nil, invalid("singlesign %q has neither datareference nor result", it.ID)
		}
		b.Items = append(b.Items, it)
	}
	return b, nil
}

func parseFormat(s string) (trifirma.Format, error) {
	f, err := trifirma.ParseFormat(s)
	if err != nil {
		return "", invalid("unknown format %q", s)
	}
	return f, nil
}

func parseOperation(s string) (trifirma.Operation, error) {
	op, err := trifirma.ParseOperation(s)
	if err != nil {
		return "", invalid("unknown suboperation %q", s)
	}
	return op, nil
}

func jsonBool(raw json.RawMessage, name string, def bool) (bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return def, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, invalid("%s: %v", name, err)
	}
	switch t := v.(type) {
	case bool:
		return t, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, invalid("%s must be true or false", name)
}

// jsonSeconds reads concurrenttimeout: a number or a numeric string of seconds. Values that
// do not fit a time.Duration (the reference's examples use Long.MAX_VALUE) mean no limit.
func jsonSeconds(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	s := string(raw)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, invalid("concurrenttimeout: %v", err)
		}
	}
	return parseSeconds(s)
}

func parseSeconds(s string) (time.Duration, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, invalid("concurrenttimeout %q is not an integer number of seconds", s)
	}
	if n <= 0 || n > int64(1<<63-1)/int64(time.Second) {
		return 0, nil
	}
	return time.Duration(n) * time.Second, nil
}

// ParseJSONSession decodes the signed session of a JSON batch postsign (the decoded
// `tridata`), in either shape clients send: flat {"format", "signinfo":[{id, signid, params}]}
// or nested {"format", "signs":[{"signinfo":[...]}]}. Parameter values must be strings. Errors
// wrap [trifirma.ErrInvalidSession].
func ParseJSONSession(data []byte) (*trifirma.TriphaseData, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{trifirma.ErrInvalidSession}, a...)...)
	}
	if len(data) > trifirma.MaxSessionSize {
		return nil, bad("%d bytes exceeds the %d-byte limit", len(data), trifirma.MaxSessionSize)
	}
	if !utf8.Valid(data) {
		return nil, bad("the session JSON is not UTF-8")
	}
	var top struct {
		Format   *string           `json:"format"`
		Signs    []json.RawMessage `json:"signs"`
		SignInfo []json.RawMessage `json:"signinfo"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&top); err != nil {
		return nil, bad("malformed session JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("malformed session JSON: data after the object")
	}
	td := &trifirma.TriphaseData{}
	if top.Format != nil {
		td.Format = *top.Format
	}
	add := func(infos []json.RawMessage) error {
		for _, raw := range infos {
			sd, err := parseSignInfo(raw)
			if err != nil {
				return bad("%v", err)
			}
			td.Signs = append(td.Signs, sd)
		}
		return nil
	}
	switch {
	case top.Signs != nil:
		for i, raw := range top.Signs {
			var s struct {
				SignInfo []json.RawMessage `json:"signinfo"`
			}
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, bad("signs[%d]: %v", i, err)
			}
			if s.SignInfo == nil {
				return nil, bad("signs[%d] has no signinfo", i)
			}
			if err := add(s.SignInfo); err != nil {
				return nil, err
			}
		}
	case top.SignInfo != nil:
		if err := add(top.SignInfo); err != nil {
			return nil, err
		}
	default:
		return nil, bad("the session has neither signs nor signinfo")
	}
	return td, nil
}

func parseSignInfo(raw json.RawMessage) (*trifirma.SignData, error) {
	var si struct {
		ID     *string         `json:"id"`
		SignID *string         `json:"signid"`
		Params json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(raw, &si); err != nil {
		return nil, fmt.Errorf("signinfo: %v", err)
	}
	if si.ID == nil {
		return nil, errors.New("a signinfo has no id")
	}
	sd := &trifirma.SignData{ID: *si.ID}
	if si.SignID != nil {
		sd.SignID = *si.SignID
	}
	if len(si.Params) == 0 || string(si.Params) == "null" {
		return nil, fmt.Errorf("signinfo %q has no params", sd.ID)
	}
	// Decode the params object token by token to keep the order the client sent.
	dec := json.NewDecoder(bytes.NewReader(si.Params))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("signinfo %q: params is not an object", sd.ID)
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("signinfo %q params: %v", sd.ID, err)
		}
		k, ok := kt.(string)
		if !ok {
			return nil, fmt.Errorf("signinfo %q: malformed params", sd.ID)
		}
		vt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("signinfo %q params: %v", sd.ID, err)
		}
		v, ok := vt.(string)
		if !ok {
			return nil, fmt.Errorf("signinfo %q: parameter %q is not a string", sd.ID, k)
		}
		sd.Set(k, v)
	}
	return sd, nil
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// AppendJSONPresign appends the JSON presign reply for p: {"td":{"format":...,"signs":[
// {"signinfo":[{"id","signid","params":{...}}]}, ... one per presigned entry]},
// "results":[{"id","result","description"}, ...]}, td and results omitted when empty.
func AppendJSONPresign(b []byte, p *Presigned) []byte {
	b = append(b, '{')
	if len(p.Sessions) > 0 {
		b = append(b, `"td":{`...)
		if p.Format != "" {
			b = append(b, `"format":`...)
			b = appendJSONString(b, p.Format)
			b = append(b, ',')
		}
		b = append(b, `"signs":[`...)
		for i, s := range p.Sessions {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"signinfo":[`...)
			for j, sd := range s.Session.Signs {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendSignInfo(b, sd)
			}
			b = append(b, "]}"...)
		}
		b = append(b, "]}"...)
	}
	if len(p.Failures) > 0 {
		if len(p.Sessions) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"results":[`...)
		for i, r := range p.Failures {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONResult(b, r, false)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendSignInfo(b []byte, sd *trifirma.SignData) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, sd.ID)
	if sd.SignID != "" {
		b = append(b, `,"signid":`...)
		b = appendJSONString(b, sd.SignID)
	}
	b = append(b, `,"params":{`...)
	for k, p := range sd.Params {
		if k > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, p.Name)
		b = append(b, ':')
		b = appendJSONString(b, p.Value)
	}
	return append(b, "}}"...)
}

// appendJSONResult writes {"id":..., "result":...[, "description":...]} (with the reference's
// ", " separators when spaced).
func appendJSONResult(b []byte, r Result, spaced bool) []byte {
	sep := ","
	if spaced {
		sep = ", "
	}
	b = append(b, `{"id":`...)
	b = appendJSONString(b, r.ID)
	b = append(b, sep+`"result":`...)
	b = appendJSONString(b, string(r.Code))
	if r.Description != "" {
		b = append(b, sep+`"description":`...)
		b = appendJSONString(b, r.Description)
	}
	return append(b, '}')
}

// AppendJSONSession appends a signed session in the flat JSON shape the clients send as
// tridata: {"format":..., "signinfo":[...]}.
func AppendJSONSession(b []byte, format string, td *trifirma.TriphaseData) []byte {
	b = append(b, '{')
	if format != "" {
		b = append(b, `"format":`...)
		b = appendJSONString(b, format)
		b = append(b, ',')
	}
	b = append(b, `"signinfo":[`...)
	if td != nil {
		for i, sd := range td.Signs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendSignInfo(b, sd)
		}
	}
	return append(b, "]}"...)
}

// AppendJSONResults appends the JSON postsign reply {"signs":[{"id":..., "result":...,
// "description":...}, ...]} in batch order, formatted as the reference formats it.
func AppendJSONResults(b []byte, results []Result) []byte {
	b = append(b, `{"signs":[`...)
	for i, r := range results {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONResult(b, r, true)
	}
	return append(b, "]}"...)
}

// MarshalJSON encodes b as a JSON batch definition (what a client sends, Base64-encoded, as
// `json`): entries the client finished are written as {id, result, description}.
func (b *Batch) MarshalJSON() ([]byte, error) {
	out := []byte{'{'}
	field := func(name, v string) {
		out = appendJSONString(out, name)
		out = append(out, ':')
		out = appendJSONString(out, v)
		out = append(out, ',')
	}
	if b.Algorithm != "" {
		field("algorithm", b.Algorithm)
	}
	if b.Format != "" {
		field("format", string(b.Format))
	}
	if b.Operation != "" {
		field("suboperation", string(b.Operation))
	}
	if b.Params != nil {
		field("extraparams", b.Params.Encode())
	}
	out = append(out, `"stoponerror":`...)
	out = strconv.AppendBool(out, b.StopOnError)
	out = append(out, ',')
	if b.ConcurrentTimeout > 0 {
		out = append(out, `"concurrenttimeout":`...)
		out = strconv.AppendInt(out, int64(b.ConcurrentTimeout/time.Second), 10)
		out = append(out, ',')
	}
	out = append(out, `"singlesigns":[`...)
	for i, it := range b.Items {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, '{')
		field("id", it.ID)
		if it.Result != "" {
			field("result", string(it.Result))
			if it.Description != "" {
				field("description", it.Description)
			}
		} else {
			if it.Source.Kind != SourceReference {
				return nil, fmt.Errorf("batch: entry %q: the JSON batch only carries data references", it.ID)
			}
			field("datareference", it.Source.Value)
			if it.Format != "" {
				field("format", string(it.Format))
			}
			if it.Operation != "" {
				field("suboperation", string(it.Operation))
			}
			if it.Params != nil {
				field("extraparams", it.Params.Encode())
			}
		}
		out[len(out)-1] = '}'
	}
	out = append(out, "]}"...)
	return out, nil
}
