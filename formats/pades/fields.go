package pades

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/pdf"
)

const (
	maxFieldDepth = 32
	maxFields     = 100000
)

// field is one terminal form field with its fully qualified name.
type field struct {
	ref     pdf.Ref // zero Num: a direct object
	dict    *pdf.Dict
	name    string
	ft      pdf.Name
	widgets []pdf.Ref // widget kids; empty when the field is its own widget
}

func textString(b []byte) string {
	if len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff {
		var rs []rune
		for i := 2; i+1 < len(b); i += 2 {
			rs = append(rs, rune(b[i])<<8|rune(b[i+1]))
		}
		return string(rs)
	}
	// PDFDocEncoding agrees with Latin-1 for the characters that matter in names.
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

// formFields returns the terminal fields of the AcroForm (nil when there is none).
func formFields(r *pdf.Reader) ([]*field, error) {
	cat, _, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	af := r.GetDict(cat.Get("AcroForm"))
	if af == nil {
		return nil, nil
	}
	var out []*field
	visited := map[int]bool{}
	var walk func(o pdf.Object, parentName string, ft pdf.Name, depth int) error
	walk = func(o pdf.Object, parentName string, ft pdf.Name, depth int) error {
		if depth > maxFieldDepth {
			return fmt.Errorf("%w: form fields nested deeper than %d levels", trifirma.ErrInvalidDocument, maxFieldDepth)
		}
		if len(out) > maxFields {
			return fmt.Errorf("%w: more than %d form fields", trifirma.ErrInvalidDocument, maxFields)
		}
		ref, isRef := o.(pdf.Ref)
		if isRef {
			if visited[ref.Num] {
				return nil
			}
			visited[ref.Num] = true
		}
		d := r.GetDict(o)
		if d == nil {
			return nil
		}
		name := parentName
		if t, ok := resolveString(r, d.Get("T")); ok {
			if name != "" {
				name += "."
			}
			name += textString(t)
		}
		if f, ok := d.Get("FT").(pdf.Name); ok {
			ft = f
		}
		kids := r.GetArray(d.Get("Kids"))
		// Kids that carry a /T are fields; the others are this field's widgets.
		var widgetKids []pdf.Ref
		var fieldKids []pdf.Object
		for _, k := range kids {
			kd := r.GetDict(k)
			if kd == nil {
				continue
			}
			if kd.Has("T") || (kd.Has("Kids") && !isWidget(kd)) {
				fieldKids = append(fieldKids, k)
			} else if kr, ok := k.(pdf.Ref); ok {
				widgetKids = append(widgetKids, kr)
			}
		}
		if len(fieldKids) > 0 {
			for _, k := range fieldKids {
				if err := walk(k, name, ft, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		f := &field{dict: d, name: name, ft: ft, widgets: widgetKids}
		if isRef {
			f.ref = ref
		}
		out = append(out, f)
		return nil
	}
	for _, fo := range r.GetArray(af.Get("Fields")) {
		if err := walk(fo, "", "", 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func isWidget(d *pdf.Dict) bool {
	st, _ := d.Get("Subtype").(pdf.Name)
	return st == "Widget"
}

func resolveString(r *pdf.Reader, o pdf.Object) ([]byte, bool) {
	v, err := r.Resolve(o)
	if err != nil {
		return nil, false
	}
	s, ok := v.(pdf.String)
	return s, ok
}

// existingSig is a signature already in the document.
type existingSig struct {
	field     *field
	dict      *pdf.Dict
	subFilter string
	byteRange []int64
}

func signatures(r *pdf.Reader, fields []*field) []existingSig {
	var out []existingSig
	for _, f := range fields {
		if f.ft != "Sig" {
			continue
		}
		v := r.GetDict(f.dict.Get("V"))
		if v == nil {
			continue
		}
		s := existingSig{field: f, dict: v}
		if sf, ok := v.Get("SubFilter").(pdf.Name); ok {
			s.subFilter = string(sf)
		}
		for _, e := range r.GetArray(v.Get("ByteRange")) {
			n, _ := pdf.Int(e)
			s.byteRange = append(s.byteRange, n)
		}
		out = append(out, s)
	}
	return out
}

var registeredSubFilters = map[string]bool{
	"ETSI.RFC3161":        true,
	"adbe.pkcs7.detached": true,
	"ETSI.CAdES.detached": true,
	"adbe.pkcs7.sha1":     true,
}

// docMDPLevel returns the /P of the document's certification signature (0: not certified).
func docMDPLevel(r *pdf.Reader) int {
	cat, _, err := r.Catalog()
	if err != nil {
		return 0
	}
	perms := r.GetDict(cat.Get("Perms"))
	if perms == nil {
		return 0
	}
	sig := r.GetDict(perms.Get("DocMDP"))
	if sig == nil {
		return 0
	}
	for _, ref := range r.GetArray(sig.Get("Reference")) {
		rd := r.GetDict(ref)
		if rd == nil {
			continue
		}
		if tm, _ := rd.Get("TransformMethod").(pdf.Name); tm != "DocMDP" {
			continue
		}
		p := int64(2)
		if tp := r.GetDict(rd.Get("TransformParams")); tp != nil {
			if v, ok := pdf.Int(r.Get(tp, "P")); ok {
				p = v
			}
		}
		return int(p)
	}
	return 0
}

// checkDocument applies the reference's confirmations: certified documents, unregistered
// signatures and, when o.revisionChecks is set, changes after the last signature that alter
// the pages (shadow attack) and (with checkSignatures) form fields changed after the first
// signature.
func checkDocument(ctx context.Context, r *pdf.Reader, doc []byte, p trifirma.Params, o *options, fields []*field, sigs []existingSig) error {
	if o.certLevel > 0 && len(sigs) > 0 {
		return bad("%s=%d: a certification signature must be the first signature of the document, which already has %d", ParamCertificationLevel, o.certLevel, len(sigs))
	}
	if docMDPLevel(r) == 1 && !strings.EqualFold(strings.TrimSpace(o.allowCert), "true") {
		e := trifirma.NeedConfig(p, trifirma.NeedSigningCertifiedPDF, ParamAllowCertified,
			"the PDF is certified and its certification (DocMDP P=1) allows no change, not even a signature")
		e.Denied = o.allowCert != ""
		return e
	}
	if !strings.EqualFold(strings.TrimSpace(o.allowUnreg), "true") {
		for _, s := range sigs {
			if !registeredSubFilters[s.subFilter] {
				e := trifirma.NeedConfig(p, trifirma.NeedUnregisteredSignatures, ParamAllowUnregistered,
					fmt.Sprintf("the PDF contains a signature with the unregistered SubFilter %q (field %q)", s.subFilter, s.field.name))
				e.Denied = strings.TrimSpace(o.allowUnreg) != ""
				return e
			}
		}
	}
	if !o.revisionChecks {
		return nil
	}
	if o.checkSigs && len(sigs) > 0 && !strings.EqualFold(strings.TrimSpace(o.allowModForm), "true") {
		changed, err := formChangedSinceFirstSignature(ctx, r, doc, o, fields, sigs)
		if err != nil {
			return err
		}
		if changed != "" {
			e := trifirma.NeedConfig(p, trifirma.NeedSigningModifiedForm, ParamAllowModifiedForm,
				"form fields were modified after the first signature: "+changed)
			e.Denied = strings.TrimSpace(o.allowModForm) != ""
			return e
		}
	}
	return checkShadowAttack(ctx, r, doc, p, o, sigs)
}

// formChangedSinceFirstSignature compares the values of the non-signature fields in the
// revision of the first signature with the current ones.
func formChangedSinceFirstSignature(ctx context.Context, r *pdf.Reader, doc []byte, o *options, fields []*field, sigs []existingSig) (string, error) {
	end := int64(-1)
	for _, s := range sigs {
		if len(s.byteRange) == 4 {
			e := s.byteRange[2] + s.byteRange[3]
			if e > 0 && e <= int64(len(doc)) && (end < 0 || e < end) {
				end = e
			}
		}
	}
	if end <= 0 || end == int64(len(doc)) {
		return "", nil
	}
	old, err := pdf.OpenBytes(ctx, doc[:end], &pdf.Options{Passwords: o.passwords, AllowEmptyPassword: true})
	if err != nil {
		return "", nil // the earlier revision cannot be read on its own: nothing to compare
	}
	oldFields, err := formFields(old)
	if err != nil {
		return "", nil
	}
	cur := fieldValues(r, fields)
	for name, v := range fieldValues(old, oldFields) {
		nv, ok := cur[name]
		if !ok {
			return fmt.Sprintf("field %q was removed", name), nil
		}
		if !bytes.Equal(v, nv) {
			return fmt.Sprintf("field %q changed", name), nil
		}
	}
	return "", nil
}

func fieldValues(r *pdf.Reader, fields []*field) map[string][]byte {
	out := map[string][]byte{}
	for _, f := range fields {
		if f.ft == "Sig" {
			continue
		}
		v, err := r.Resolve(f.dict.Get("V"))
		if err != nil {
			continue
		}
		out[f.name] = pdf.Append(nil, v)
	}
	return out
}

// uniqueFieldName returns "SignatureN" with the smallest N not in use.
func uniqueFieldName(fields []*field) string {
	used := map[string]bool{}
	for _, f := range fields {
		used[f.name] = true
		if i := strings.IndexByte(f.name, '.'); i > 0 {
			used[f.name[:i]] = true
		}
	}
	for n := 1; ; n++ {
		name := fmt.Sprintf("Signature%d", n)
		if !used[name] {
			return name
		}
	}
}
