package trifirma

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Names of the session parameters defined by the protocol.
const (
	ParamPRE        = "PRE"         // Base64 of the exact bytes the device must sign
	ParamNeedPRE    = "NEED_PRE"    // "true": the client must send PRE back
	ParamPK1        = "PK1"         // Base64 of the device's signature value
	ParamNeedData   = "NEED_DATA"   // "true": the signature embeds the content (informative)
	ParamTime       = "TIME"        // PAdES signing time, Java epoch milliseconds
	ParamPID        = "PID"         // PAdES trailer /ID as text, Base64
	ParamBase       = "BASE"        // XAdES skeleton, Base64
	ParamEncoding   = "ENCODING"    // XAdES skeleton charset
	ParamPK1Decoded = "PK1_DECODED" // XAdES: convert DER ECDSA to r||s before insertion
	ParamHMAC       = "HMAC"        // reference integrity code (verification.key)
	ParamSeal       = "SEAL"        // trifirma session seal
)

// MaxSessionSize bounds the TriphaseData XML accepted by [ParseTriphaseData] (64 MiB: XAdES
// skeletons of enveloped documents can be large).
const MaxSessionSize = 64 << 20

// TriphaseData is the session that travels between the phases: one [SignData] per signature
// the device must produce, in order. It is the reference's TriphaseData.
type TriphaseData struct {
	// Format is the optional `format` attribute of <firmas>.
	Format string
	Signs  []*SignData
}

// SignData is one `firma` of a session: its Id (SignatureId, or a countersign target's Id), the
// optional signid shared by all the firmas of one countersignature, and ordered parameters.
type SignData struct {
	ID     string
	SignID string
	Params []Param
}

// Param is one named session value.
type Param struct {
	Name, Value string
}

// Get returns the value of name.
func (s *SignData) Get(name string) (string, bool) {
	for _, p := range s.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// Set sets name to value, keeping the position of an existing entry.
func (s *SignData) Set(name, value string) {
	for i := range s.Params {
		if s.Params[i].Name == name {
			s.Params[i].Value = value
			return
		}
	}
	s.Params = append(s.Params, Param{name, value})
}

// Delete removes name.
func (s *SignData) Delete(name string) {
	out := s.Params[:0]
	for _, p := range s.Params {
		if p.Name != name {
			out = append(out, p)
		}
	}
	s.Params = out
}

// Bytes decodes the Base64 value of name (PRE, PK1, ...). A missing or malformed value wraps
// [ErrInvalidSession].
func (s *SignData) Bytes(name string) ([]byte, error) {
	v, ok := s.Get(name)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: firma %q has no %s", ErrInvalidSession, s.ID, name)
	}
	b, err := decodeB64(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s of firma %q is not Base64", ErrInvalidSession, name, s.ID)
	}
	return b, nil
}

// Find returns the signs whose signid or Id equals id, like the reference's getTriSigns.
func (td *TriphaseData) Find(id string) []*SignData {
	var out []*SignData
	for _, s := range td.Signs {
		if s.SignID == id || s.ID == id {
			out = append(out, s)
		}
	}
	return out
}

// MarshalXML-like text serialisation, byte-compatible with the reference for plain values.

// Marshal returns the session XML exactly as the reference serialises it
// (`<xml>\n <firmas>\n  <firma Id="...">\n   <param n="...">...</param>\n ...`), except that
// values are XML-escaped (the reference does not escape; escaping changes nothing for the
// Base64 and plain words the protocol carries and keeps hostile Ids from breaking the XML).
func (td *TriphaseData) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString("<xml>\n <firmas")
	if td.Format != "" {
		b.WriteString(` format="`)
		escapeAttr(&b, td.Format)
		b.WriteByte('"')
	}
	b.WriteString(">\n")
	for _, s := range td.Signs {
		b.WriteString("  <firma")
		if s.ID != "" {
			b.WriteString(` Id="`)
			escapeAttr(&b, s.ID)
			b.WriteByte('"')
		}
		if s.SignID != "" {
			b.WriteString(` signid="`)
			escapeAttr(&b, s.SignID)
			b.WriteByte('"')
		}
		b.WriteString(">\n")
		for _, p := range s.Params {
			b.WriteString(`   <param n="`)
			escapeAttr(&b, p.Name)
			b.WriteString(`">`)
			xml.EscapeText(&b, []byte(p.Value))
			b.WriteString("</param>\n")
		}
		b.WriteString("  </firma>\n")
	}
	b.WriteString(" </firmas>\n</xml>")
	return b.Bytes()
}

func escapeAttr(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\t':
			b.WriteString("&#x9;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteByte(c)
		}
	}
}

// ParseTriphaseData parses session XML tolerantly, as the reference does: the root may have any
// name and attributes; its first element child must be <firmas> (any case); every element child
// of it is a sign with optional Id and signid; every element child of a sign is a param named by
// its `n` attribute, whose value is its trimmed text. DOCTYPEs are refused; no entity is
// expanded. Errors wrap [ErrInvalidSession].
func ParseTriphaseData(data []byte) (*TriphaseData, error) {
	if len(data) > MaxSessionSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds the %d-byte limit", ErrInvalidSession, len(data), MaxSessionSize)
	}
	if td, ok := parseTriphaseDataFast(data); ok {
		return td, nil
	}
	return parseTriphaseDataXML(data)
}

// parseTriphaseDataXML is the general parser behind ParseTriphaseData.
func parseTriphaseDataXML(data []byte) (*TriphaseData, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.Entity = nil
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidSession}, a...)...)
	}
	td := &TriphaseData{}
	depth := 0
	var cur *SignData
	var curParam *Param
	var text strings.Builder
	sawFirmas := false
	sawRootChild := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, bad("malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, bad("DOCTYPE and other directives are not allowed")
		case xml.StartElement:
			depth++
			if depth > 4 {
				return nil, bad("element <%s> nested too deeply", t.Name.Local)
			}
			switch depth {
			case 2:
				if sawRootChild {
					// Only the first element child of the root is read.
					if err := d.Skip(); err != nil {
						return nil, bad("malformed XML: %v", err)
					}
					depth--
					continue
				}
				sawRootChild = true
				if !strings.EqualFold(t.Name.Local, "firmas") {
					return nil, bad("the first element of the session is <%s>, not <firmas>", t.Name.Local)
				}
				sawFirmas = true
				td.Format = attr(t, "format")
			case 3:
				cur = &SignData{ID: attr(t, "Id"), SignID: attr(t, "signid")}
				td.Signs = append(td.Signs, cur)
			case 4:
				cur.Params = append(cur.Params, Param{Name: attr(t, "n")})
				curParam = &cur.Params[len(cur.Params)-1]
				text.Reset()
			}
		case xml.EndElement:
			if depth == 4 && curParam != nil {
				curParam.Value = strings.TrimSpace(text.String())
				curParam = nil
			}
			depth--
		case xml.CharData:
			if depth >= 4 {
				if text.Len()+len(t) > MaxSessionSize {
					return nil, bad("value too large")
				}
				text.Write(t)
			}
		}
	}
	if !sawFirmas {
		return nil, bad("no <firmas> element")
	}
	return td, nil
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}
