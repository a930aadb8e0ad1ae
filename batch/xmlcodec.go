package batch

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/trifirma/trifirma"
)

// ParseXML decodes an XML batch definition of the seed specification:
//
//	<signbatch algorithm="SHA256withRSA" stoponerror="false" concurrenttimeout="30" Id="...">
//	  <singlesign Id="...">
//	    <datasource>URL, Base64 or text</datasource>
//	    <format>CAdES</format>
//	    <suboperation>sign</suboperation>
//	    <extraparams>Base64 properties</extraparams>
//	    <signsaver><class>es.gob.afirma.signers.batch.SignSaverFile</class><config>Base64 properties</config></signsaver>
//	  </singlesign>
//	</signbatch>
//
// Elements are matched by local name; unknown or repeated elements, a missing algorithm,
// entry Id, datasource, format or signsaver class are errors. stoponerror defaults to true (the
// reference's default for XML batches), suboperation to sign. A datasource is a URL when it
// starts with a scheme (http:, https:, file:, ftp:), Base64 when it looks like Base64, and
// plain text otherwise. Definitions larger than [MaxXMLBatchSize] wrap [ErrLimits]; DOCTYPEs
// and entities are refused. Other errors wrap [ErrInvalidBatch].
func ParseXML(data []byte) (*Batch, error) {
	if len(data) > MaxXMLBatchSize {
		return nil, fmt.Errorf("%w: the XML batch has %d bytes, the maximum is %d", ErrLimits, len(data), MaxXMLBatchSize)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.Entity = nil
	p := &xmlParser{d: d}
	b, err := p.parse()
	if err != nil {
		return nil, err
	}
	return b, nil
}

type xmlParser struct {
	d *xml.Decoder
}

// next returns the next start or end element, skipping white space, comments and processing
// instructions. Non-blank text between elements is an error.
func (p *xmlParser) next() (xml.Token, error) {
	for {
		tok, err := p.d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, invalid("malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement, xml.EndElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, invalid("unexpected text %.40q", string(bytes.TrimSpace(t)))
			}
		case xml.Directive:
			return nil, invalid("DOCTYPE and other directives are not allowed")
		}
	}
}

// text reads the text content of a leaf element up to its end tag.
func (p *xmlParser) text(name string) (string, error) {
	var sb strings.Builder
	for {
		tok, err := p.d.Token()
		if err != nil {
			return "", invalid("malformed XML in <%s>: %v", name, err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.EndElement:
			return strings.TrimSpace(sb.String()), nil
		case xml.StartElement:
			return "", invalid("unexpected element <%s> inside <%s>", t.Name.Local, name)
		case xml.Directive:
			return "", invalid("DOCTYPE and other directives are not allowed")
		}
	}
}

func xmlAttr(t xml.StartElement, names ...string) (string, bool) {
	for _, n := range names {
		for _, a := range t.Attr {
			if a.Name.Local == n && a.Name.Space == "" {
				return a.Value, true
			}
		}
	}
	return "", false
}

func (p *xmlParser) parse() (*Batch, error) {
	tok, err := p.next()
	if errors.Is(err, io.EOF) {
		return nil, invalid("empty XML batch")
	}
	if err != nil {
		return nil, err
	}
	root, ok := tok.(xml.StartElement)
	if !ok || root.Name.Local != "signbatch" {
		return nil, invalid("the root element must be <signbatch>")
	}
	b := &Batch{StopOnError: true}
	alg, ok := xmlAttr(root, "algorithm")
	if !ok {
		return nil, invalid("<signbatch> has no algorithm attribute")
	}
	b.Algorithm = alg
	if v, ok := xmlAttr(root, "stoponerror"); ok {
		// Boolean.parseBoolean: "true" in any case is true, anything else false.
		b.StopOnError = strings.EqualFold(strings.TrimSpace(v), "true")
	}
	if v, ok := xmlAttr(root, "concurrenttimeout"); ok {
		if b.ConcurrentTimeout, err = parseSeconds(v); err != nil {
			return nil, err
		}
	}
	b.ID, _ = xmlAttr(root, "Id")
	for {
		tok, err := p.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, invalid("unterminated <signbatch>")
			}
			return nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		st := tok.(xml.StartElement)
		if st.Name.Local != "singlesign" {
			return nil, invalid("unknown element <%s> in <signbatch>", st.Name.Local)
		}
		it, err := p.single(st)
		if err != nil {
			return nil, err
		}
		b.Items = append(b.Items, it)
	}
	// Nothing but white space, comments and processing instructions may follow.
	if _, err := p.next(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, invalid("content after </signbatch>")
		}
		return nil, err
	}
	if len(b.Items) == 0 {
		return nil, invalid("the batch has no <singlesign>")
	}
	return b, nil
}

func (p *xmlParser) single(st xml.StartElement) (*Item, error) {
	id, ok := xmlAttr(st, "Id", "id")
	if !ok || id == "" {
		return nil, invalid("a <singlesign> has no Id attribute")
	}
	it := &Item{ID: id}
	seen := map[string]bool{}
	var haveSource, haveFormat bool
	for {
		tok, err := p.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, invalid("unterminated <singlesign Id=%q>", id)
			}
			return nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		el := tok.(xml.StartElement)
		name := el.Name.Local
		if seen[name] {
			return nil, invalid("<singlesign Id=%q> has more than one <%s>", id, name)
		}
		seen[name] = true
		switch name {
		case "datasource":
			v, err := p.text(name)
			if err != nil {
				return nil, err
			}
			it.Source = ClassifyDatasource(v)
			haveSource = v != ""
		case "format":
			v, err := p.text(name)
			if err != nil {
				return nil, err
			}
			if it.Format, err = parseFormat(v); err != nil {
				return nil, fmt.Errorf("singlesign %q: %w", id, err)
			}
			haveFormat = true
		case "suboperation":
			v, err := p.text(name)
			if err != nil {
				return nil, err
			}
			if it.Operation, err = parseOperation(v); err != nil {
				return nil, fmt.Errorf("singlesign %q: %w", id, err)
			}
		case "extraparams":
			v, err := p.text(name)
			if err != nil {
				return nil, err
			}
			if it.Params, err = trifirma.DecodeParams(v); err != nil {
				return nil, invalid("singlesign %q extraparams: %v", id, err)
			}
		case "signsaver":
			spec, err := p.saver(id)
			if err != nil {
				return nil, err
			}
			it.SaverSpec = spec
		default:
			return nil, invalid("unknown element <%s> in <singlesign Id=%q>", name, id)
		}
	}
	switch {
	case !haveSource:
		return nil, invalid("<singlesign Id=%q> has no <datasource>", id)
	case !haveFormat:
		return nil, invalid("<singlesign Id=%q> has no <format>", id)
	case it.SaverSpec == nil:
		return nil, invalid("<singlesign Id=%q> has no <signsaver>", id)
	}
	if it.Operation == "" {
		it.Operation = trifirma.OpSign
	}
	if it.Params == nil {
		it.Params = trifirma.Params{}
	}
	return it, nil
}

func (p *xmlParser) saver(id string) (*SaverSpec, error) {
	spec := &SaverSpec{Config: trifirma.Params{}}
	seen := map[string]bool{}
	for {
		tok, err := p.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, invalid("unterminated <signsaver> in <singlesign Id=%q>", id)
			}
			return nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		name := tok.(xml.StartElement).Name.Local
		if seen[name] {
			return nil, invalid("<signsaver> of %q has more than one <%s>", id, name)
		}
		seen[name] = true
		v, err := p.text(name)
		if err != nil {
			return nil, err
		}
		switch name {
		case "class":
			spec.Class = v
		case "config":
			if spec.Config, err = trifirma.DecodeParams(v); err != nil {
				return nil, invalid("singlesign %q signsaver config: %v", id, err)
			}
		default:
			return nil, invalid("unknown element <%s> in <signsaver> of %q", name, id)
		}
	}
	if spec.Class == "" {
		return nil, invalid("the <signsaver> of %q has no <class>", id)
	}
	return spec, nil
}

// ClassifyDatasource decides the mode of an XML datasource value (trimmed): a URL when it starts
// with http:, https:, file: or ftp: (any case), Base64 when it looks like Base64 (only Base64
// characters of either alphabet and white space, a multiple of four characters, padding only
// at the end), plain text otherwise.
func ClassifyDatasource(v string) Source {
	v = strings.TrimSpace(v)
	lower := strings.ToLower(v)
	for _, scheme := range []string{"http:", "https:", "file:", "ftp:"} {
		if strings.HasPrefix(lower, scheme) {
			return Source{Kind: SourceURL, Value: v}
		}
	}
	if looksBase64(v) {
		return Source{Kind: SourceBase64, Value: v}
	}
	return Source{Kind: SourceText, Value: v}
}

func looksBase64(s string) bool {
	n, pad := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		case c == '=':
			pad++
		case pad > 0:
			return false
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9',
			c == '+', c == '/', c == '-', c == '_':
		default:
			return false
		}
		n++
	}
	return n > 0 && n%4 == 0 && pad <= 2
}

// AppendXMLPresign appends the XML presign reply: the session XML (as text, not Base64) with
// the firmas of every presigned entry.
func AppendXMLPresign(b []byte, p *Presigned) []byte {
	td := p.Session()
	if td == nil {
		td = &trifirma.TriphaseData{}
	}
	return append(b, td.Marshal()...)
}

// AppendXMLResults appends the XML postsign reply of the seed specification:
// <?xml ...?><signs><signresult id="..." result="..." description="..."/>...</signs>, with
// attribute values escaped (the reference writes them raw).
func AppendXMLResults(b []byte, results []Result) []byte {
	b = append(b, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<signs>\n"...)
	for _, r := range results {
		b = append(b, ` <signresult id="`...)
		b = appendXMLAttr(b, r.ID)
		b = append(b, `" result="`...)
		b = appendXMLAttr(b, string(r.Code))
		b = append(b, `" description="`...)
		b = appendXMLAttr(b, r.Description)
		b = append(b, "\"/>\n"...)
	}
	return append(b, "</signs>"...)
}

func appendXMLAttr(b []byte, s string) []byte {
	var buf bytes.Buffer
	_ = xml.EscapeText(&buf, []byte(s))
	return append(b, bytes.ReplaceAll(buf.Bytes(), []byte(`"`), []byte("&#34;"))...)
}

// AppendXML appends b as an XML batch definition. Entries must carry a SaverSpec and a
// Base64, text or URL source.
func (b *Batch) AppendXML(out []byte) ([]byte, error) {
	out = append(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<signbatch"...)
	out = append(out, ` algorithm="`...)
	out = appendXMLAttr(out, b.Algorithm)
	out = append(out, `" stoponerror="`...)
	if b.StopOnError {
		out = append(out, "true"...)
	} else {
		out = append(out, "false"...)
	}
	out = append(out, '"')
	if b.ConcurrentTimeout > 0 {
		out = fmt.Appendf(out, ` concurrenttimeout="%d"`, int64(b.ConcurrentTimeout.Seconds()))
	}
	if b.ID != "" {
		out = append(out, ` Id="`...)
		out = appendXMLAttr(out, b.ID)
		out = append(out, '"')
	}
	out = append(out, ">\n"...)
	for _, it := range b.Items {
		if it.SaverSpec == nil {
			return nil, fmt.Errorf("batch: entry %q has no signsaver", it.ID)
		}
		if it.Source.Kind == SourceReference {
			return nil, fmt.Errorf("batch: entry %q: the XML batch carries no document-manager references", it.ID)
		}
		format := it.Format
		if format == "" {
			format = b.Format
		}
		op := it.Operation
		if op == "" {
			op = b.Operation
		}
		if op == "" {
			op = trifirma.OpSign
		}
		params := it.Params
		if params == nil {
			params = b.Params
		}
		out = append(out, ` <singlesign Id="`...)
		out = appendXMLAttr(out, it.ID)
		out = append(out, "\">\n  <datasource>"...)
		out = appendXMLAttr(out, it.Source.Value)
		out = append(out, "</datasource>\n  <format>"...)
		out = appendXMLAttr(out, string(format))
		out = append(out, "</format>\n  <suboperation>"...)
		out = appendXMLAttr(out, string(op))
		out = append(out, "</suboperation>\n  <extraparams>"...)
		if len(params) > 0 {
			out = append(out, params.Encode()...)
		}
		out = append(out, "</extraparams>\n  <signsaver>\n   <class>"...)
		out = appendXMLAttr(out, it.SaverSpec.Class)
		out = append(out, "</class>\n   <config>"...)
		if len(it.SaverSpec.Config) > 0 {
			out = append(out, it.SaverSpec.Config.Encode()...)
		}
		out = append(out, "</config>\n  </signsaver>\n </singlesign>\n"...)
	}
	return append(out, "</signbatch>\n"...), nil
}
