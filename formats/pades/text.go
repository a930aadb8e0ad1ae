package pades

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
)

// Layer-2 text tokens (afirma-protocol.md §5.4).
const (
	tagSubjectCN    = "$$SUBJECTCN$$"
	tagSubjectDN    = "$$SUBJECTDN$$"
	tagIssuerCN     = "$$ISSUERCN$$"
	tagCertSerial   = "$$CERTSERIAL$$"
	tagGivenName    = "$$GIVENNAME$$"
	tagSurname      = "$$SURNAME$$"
	tagOrganization = "$$ORGANIZATION$$"
	tagPseudonym    = "$$PSEUDONYM$$"
	tagOU           = "$$OU$$"
	tagOUs          = "$$OUS$$"
	tagTitle        = "$$TITLE$$"
	tagReason       = "$$REASON$$"
	tagLocation     = "$$LOCATION$$"
	tagContact      = "$$CONTACT$$"
	tagDatePrefix   = "$$SIGNDATE"
)

var (
	oidCN           = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidCountry      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidLocality     = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidState        = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidStreet       = asn1.ObjectIdentifier{2, 5, 4, 9}
	oidO            = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU           = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidTitle        = asn1.ObjectIdentifier{2, 5, 4, 12}
	oidGivenName    = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidPseudonym    = asn1.ObjectIdentifier{2, 5, 4, 65}
	oidEmail        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidUID          = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidDC           = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
)

var dnNames = []struct {
	oid  asn1.ObjectIdentifier
	name string
}{
	{oidCN, "CN"}, {oidSurname, "SURNAME"}, {oidSerialNumber, "SERIALNUMBER"}, {oidCountry, "C"},
	{oidLocality, "L"}, {oidState, "ST"}, {oidStreet, "STREET"}, {oidO, "O"}, {oidOU, "OU"},
	{oidTitle, "T"}, {oidGivenName, "GIVENNAME"}, {oidEmail, "EMAILADDRESS"}, {oidUID, "UID"},
	{oidDC, "DC"},
}

// rdnValues returns the values of attribute oid in the subject, in DER order.
func rdnValues(cert *x509.Certificate, oid asn1.ObjectIdentifier) []string {
	var out []string
	for _, a := range cert.Subject.Names {
		if a.Type.Equal(oid) {
			out = append(out, fmt.Sprint(a.Value))
		}
	}
	return out
}

func firstRDN(cert *x509.Certificate, oid asn1.ObjectIdentifier) string {
	v := rdnValues(cert, oid)
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// commonName returns the subject CN, or (like the reference) the first OU, then O, when the
// subject has no CN.
func commonName(cert *x509.Certificate) string {
	for _, oid := range []asn1.ObjectIdentifier{oidCN, oidOU, oidO} {
		if v := firstRDN(cert, oid); v != "" {
			return v
		}
	}
	return cert.Subject.String()
}

func issuerCN(cert *x509.Certificate) string {
	if cert.Issuer.CommonName != "" {
		return cert.Issuer.CommonName
	}
	if len(cert.Issuer.OrganizationalUnit) > 0 {
		return cert.Issuer.OrganizationalUnit[0]
	}
	return cert.Issuer.String()
}

// subjectDN renders the subject like Java's X500Principal.toString(): most specific RDN first,
// "TYPE=value" joined by ", ".
func subjectDN(cert *x509.Certificate) string {
	rdns := cert.Subject.ToRDNSequence()
	var parts []string
	for i := len(rdns) - 1; i >= 0; i-- {
		var avas []string
		for _, a := range rdns[i] {
			name := "OID." + a.Type.String()
			for _, n := range dnNames {
				if n.oid.Equal(a.Type) {
					name = n.name
					break
				}
			}
			v := fmt.Sprint(a.Value)
			if strings.ContainsAny(v, ",+\"\\<>;") {
				v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
			}
			avas = append(avas, name+"="+v)
		}
		parts = append(parts, strings.Join(avas, " + "))
	}
	return strings.Join(parts, ", ")
}

func isPseudonymCert(cert *x509.Certificate) bool {
	return len(rdnValues(cert, oidPseudonym)) > 0
}

// layerText substitutes the reference's tokens in txt.
func layerText(txt string, cert *x509.Certificate, when time.Time, o *options) string {
	if cert != nil {
		obf := true
		if o.obfuscate != nil {
			obf = *o.obfuscate
		} else if isPseudonymCert(cert) {
			obf = false
		}
		var mask *textMask
		if obf {
			mask = defaultMask()
			if strings.TrimSpace(o.mask) != "" {
				if m, err := parseMask(o.mask); err == nil {
					mask = m
				}
			}
		}
		cn := commonName(cert)
		if mask != nil {
			cn = obfuscateIDs(cn, mask)
		}
		txt = strings.ReplaceAll(txt, tagSubjectCN, cn)
		txt = strings.ReplaceAll(txt, tagIssuerCN, issuerCN(cert))
		txt = strings.ReplaceAll(txt, tagCertSerial, cert.SerialNumber.String())
		if p := firstRDN(cert, oidPseudonym); p != "" {
			txt = strings.ReplaceAll(txt, tagPseudonym, p)
		}
		ous := rdnValues(cert, oidOU)
		first := ""
		if len(ous) > 0 {
			first = ous[0]
		}
		txt = strings.ReplaceAll(txt, tagOUs, strings.Join(ous, ", "))
		txt = strings.ReplaceAll(txt, tagOU, first)
		txt = strings.ReplaceAll(txt, tagTitle, firstRDN(cert, oidTitle))
		dn := subjectDN(cert)
		if mask != nil {
			dn = obfuscateIDs(dn, mask)
		}
		txt = strings.ReplaceAll(txt, tagSubjectDN, dn)
		txt = strings.ReplaceAll(txt, tagGivenName, firstRDN(cert, oidGivenName))
		txt = strings.ReplaceAll(txt, tagSurname, firstRDN(cert, oidSurname))
		txt = strings.ReplaceAll(txt, tagOrganization, firstRDN(cert, oidO))
	}
	txt = strings.ReplaceAll(txt, tagReason, o.reason)
	txt = strings.ReplaceAll(txt, tagLocation, o.location)
	txt = strings.ReplaceAll(txt, tagContact, o.contact)
	for guard := 0; guard < 64; guard++ {
		i := strings.Index(txt, tagDatePrefix)
		if i < 0 {
			break
		}
		j := strings.Index(txt[i+len(tagDatePrefix):], "$$")
		if j < 0 {
			break
		}
		tag := txt[i : i+len(tagDatePrefix)+j+2]
		pattern := "d/M/yy H:mm" // Java's default SimpleDateFormat pattern for es_ES
		if k := strings.Index(tag, "="); k >= 0 {
			pattern = tag[k+1 : len(tag)-2]
		}
		txt = strings.Replace(txt, tag, javaDate(when, pattern), 1)
	}
	return txt
}

func defaultLayer2Text(hasReason, hasLocation bool) string {
	s := "Firmado por " + tagSubjectCN + "\nFecha: " + tagDatePrefix + "=dd/MM/yyyy HH:mm:ss z$$"
	if hasReason {
		s += "\nMotivo: " + tagReason
	}
	if hasLocation {
		s += "\nLugar de firma: " + tagLocation
	}
	return s
}

var (
	monthsES = []string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}
	daysES   = []string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}
)

// javaDate formats t with a java.text.SimpleDateFormat pattern (Spanish names).
func javaDate(t time.Time, pattern string) string {
	var b strings.Builder
	rs := []rune(pattern)
	for i := 0; i < len(rs); {
		c := rs[i]
		if c == '\'' {
			j := i + 1
			if j < len(rs) && rs[j] == '\'' {
				b.WriteRune('\'')
				i += 2
				continue
			}
			for j < len(rs) {
				if rs[j] == '\'' {
					if j+1 < len(rs) && rs[j+1] == '\'' {
						b.WriteRune('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteRune(rs[j])
				j++
			}
			i = j + 1
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b.WriteRune(c)
			i++
			continue
		}
		n := 1
		for i+n < len(rs) && rs[i+n] == c {
			n++
		}
		i += n
		num := func(v int) {
			s := strconv.Itoa(v)
			for k := len(s); k < n; k++ {
				b.WriteByte('0')
			}
			b.WriteString(s)
		}
		switch c {
		case 'G':
			b.WriteString("d. C.")
		case 'y', 'Y', 'u':
			if c == 'u' {
				wd := int(t.Weekday())
				if wd == 0 {
					wd = 7
				}
				num(wd)
				continue
			}
			y := t.Year()
			if n == 2 {
				fmt.Fprintf(&b, "%02d", y%100)
			} else {
				num(y)
			}
		case 'M', 'L':
			switch {
			case n >= 4:
				b.WriteString(monthsES[t.Month()-1])
			case n == 3:
				b.WriteString(monthsES[t.Month()-1][:3])
			default:
				num(int(t.Month()))
			}
		case 'd':
			num(t.Day())
		case 'D':
			num(t.YearDay())
		case 'E':
			if n >= 4 {
				b.WriteString(daysES[t.Weekday()])
			} else {
				b.WriteString(string([]rune(daysES[t.Weekday()])[:3]) + ".")
			}
		case 'a':
			if t.Hour() < 12 {
				b.WriteString("a. m.")
			} else {
				b.WriteString("p. m.")
			}
		case 'H':
			num(t.Hour())
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			num(h)
		case 'K':
			num(t.Hour() % 12)
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			num(h)
		case 'm':
			num(t.Minute())
		case 's':
			num(t.Second())
		case 'S':
			num(t.Nanosecond() / 1e6)
		case 'z':
			name, _ := t.Zone()
			b.WriteString(name)
		case 'Z':
			b.WriteString(t.Format("-0700"))
		case 'X':
			switch n {
			case 1:
				b.WriteString(t.Format("Z07"))
			case 2:
				b.WriteString(t.Format("Z0700"))
			default:
				b.WriteString(t.Format("Z07:00"))
			}
		default:
			// Unknown pattern letters are left out, as the reference's fallback would not
			// print them either.
		}
	}
	return b.String()
}

// textMask is the reference's PdfTextMask: which digits of an identifier stay visible.
type textMask struct {
	char      rune
	minLength int
	positions []bool
	shift     bool
}

func defaultMask() *textMask {
	return &textMask{char: '*', minLength: 3, positions: []bool{false, false, false, true, true, true, true}, shift: true}
}

// parseMask parses "char;minDigits;positions(comma booleans);shift".
func parseMask(s string) (*textMask, error) {
	parts := strings.Split(s, ";")
	if len(parts) != 4 {
		return nil, fmt.Errorf("obfuscation mask needs 4 ';'-separated elements")
	}
	r := []rune(parts[0])
	if len(r) != 1 {
		return nil, fmt.Errorf("obfuscation character must be one character")
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 0 {
		return nil, fmt.Errorf("bad minimum digit count")
	}
	ps := strings.Split(parts[2], ",")
	if len(ps) <= 1 {
		return nil, fmt.Errorf("bad position list")
	}
	last := len(ps) - 1
	for last >= 0 && !strings.EqualFold(strings.TrimSpace(ps[last]), "true") {
		last--
	}
	if last <= 0 {
		return nil, fmt.Errorf("bad position list")
	}
	pos := make([]bool, last+1)
	for i := range pos {
		pos[i] = strings.EqualFold(strings.TrimSpace(ps[i]), "true")
	}
	return &textMask{char: r[0], minLength: n, positions: pos, shift: strings.EqualFold(strings.TrimSpace(parts[3]), "true")}, nil
}

// obfuscateIDs hides the digits of identifiers (words with at least minLength digits in a
// row) except the positions the mask keeps, as the reference does for $$SUBJECTCN$$.
func obfuscateIDs(text string, m *textMask) string {
	cs := []rune(text)
	digits, pos, found := 0, 0, false
	for i, c := range cs {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			if unicode.IsDigit(c) {
				digits++
				if digits == m.minLength {
					found = true
				}
			} else {
				digits = 0
			}
			continue
		}
		if found {
			obfuscate(cs, pos, i-pos, m)
			found = false
		}
		pos = i + 1
	}
	if found {
		obfuscate(cs, pos, len(cs)-pos, m)
	}
	return string(cs)
}

func obfuscate(text []rune, pos, length int, m *textMask) {
	numDigits := 0
	for _, c := range text {
		if unicode.IsDigit(c) {
			numDigits++
		}
	}
	plain := 0
	for _, p := range m.positions {
		if p {
			plain++
		}
	}
	if numDigits >= plain {
		mask := m.positions
		if m.shift && numDigits < len(mask) {
			adj := make([]bool, numDigits)
			omit := len(mask) - numDigits
			skipped := 0
			for i, p := range mask {
				if p || skipped >= omit {
					if i-skipped < len(adj) {
						adj[i-skipped] = p
					}
				} else {
					skipped++
				}
			}
			mask = adj
		}
		for i, j := 0, 0; i < length; i++ {
			if unicode.IsDigit(text[pos+i]) {
				if j >= len(mask) || !mask[j] {
					text[pos+i] = m.char
				}
				j++
			} else {
				text[pos+i] = m.char
			}
		}
		return
	}
	k := len(m.positions) - 1
	for i := pos + length - 1; i >= pos; i-- {
		if k < 0 || !m.positions[k] {
			text[i] = m.char
		}
		k--
	}
}

// pdfText encodes a text string: PDFDocEncoding-compatible ASCII as is, anything else as
// UTF-16BE with a byte-order mark.
func pdfText(s string) []byte {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return []byte(s)
	}
	u := utf16.Encode([]rune(s))
	out := make([]byte, 2, 2+2*len(u))
	out[0], out[1] = 0xfe, 0xff
	for _, c := range u {
		out = append(out, byte(c>>8), byte(c))
	}
	return out
}

// winAnsiHigh maps the CP1252 characters of 0x80..0x9F to their codes.
var winAnsiHigh = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b,
	'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f,
}

// winAnsi encodes s in WinAnsiEncoding; characters it lacks become '?'.
func winAnsi(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r == '\t':
			out = append(out, ' ')
		case r >= 0x20 && r < 0x7f, r >= 0xa0 && r <= 0xff:
			out = append(out, byte(r))
		default:
			if c, ok := winAnsiHigh[r]; ok {
				out = append(out, c)
			} else if r >= 0x20 {
				out = append(out, '?')
			}
		}
	}
	return out
}
