package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"hash"
	"math/big"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxCounterSignatureDepth bounds the nesting of countersignatures the reader accepts.
const MaxCounterSignatureDepth = 24

// AlgID is an AlgorithmIdentifier: its OID and its DER encoding.
type AlgID struct {
	OID asn1.ObjectIdentifier
	Raw []byte
}

// Attribute is one CMS attribute: its type and the DER of each value.
type Attribute struct {
	Type   asn1.ObjectIdentifier
	Values [][]byte
	Raw    []byte // DER of the whole Attribute as read (nil for attributes built in memory)
}

// Encode returns the DER of the attribute (its values in DER SET OF order).
func (a *Attribute) Encode() []byte {
	if a.Raw != nil {
		return a.Raw
	}
	return Seq(OIDElem(a.Type), SetOf(TagSet, a.Values, false)).Bytes()
}

// SignerInfo is a parsed SignerInfo. Everything up to the signature is kept byte for byte;
// only the unsigned attributes are re-encoded, and only when a countersignature is added below
// this node.
type SignerInfo struct {
	Raw                []byte // DER of the element as read
	Version            int
	SID                []byte // DER of the sid (IssuerAndSerialNumber or [0] SubjectKeyIdentifier)
	DigestAlgorithm    AlgID
	SignedAttrsRaw     []byte // DER of the [0] IMPLICIT signedAttrs element, nil when absent
	SignedAttrs        []Attribute
	SignatureAlgorithm AlgID
	Signature          []byte
	UnsignedAttrs      []Attribute
	// CounterSignatures are the SignerInfos found in counterSignature unsigned attributes,
	// in order.
	CounterSignatures []*SignerInfo

	prefix []byte // content bytes from version through signature
	added  [][]byte
	extra  []Attribute
}

// SignedData is a parsed ContentInfo of type signedData. Existing SignerInfos, certificates and
// CRLs are kept as encoded; the encapsulated content is referenced, never copied.
type SignedData struct {
	Version          int
	DigestAlgorithms []AlgID
	EContentType     asn1.ObjectIdentifier
	// Content holds the pieces of the encapsulated content (several for a BER segmented
	// OCTET STRING); nil when HasContent is false (detached signature).
	Content      [][]byte
	HasContent   bool
	Certificates [][]byte // DER of each CertificateChoices
	CRLs         [][]byte // DER of each RevocationInfoChoice
	SignerInfos  []*SignerInfo

	newSigners [][]byte
}

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
}

// ParseSignedData parses a DER or BER ContentInfo holding a SignedData. BER parts are
// converted to definite-length form; already definite input is referenced, not copied.
func ParseSignedData(b []byte) (*SignedData, error) {
	root, err := parseBER(b)
	if err != nil {
		return nil, err
	}
	if !root.is(TagSequence) || len(root.kids) < 1 {
		return nil, malformed("not a ContentInfo SEQUENCE")
	}
	var ct asn1.ObjectIdentifier
	if !root.kids[0].is(TagOID) || !parseOID(root.kids[0], &ct) {
		return nil, malformed("ContentInfo has no content type")
	}
	if !ct.Equal(OIDSignedData) {
		return nil, malformed("content type %v is not signedData", ct)
	}
	if len(root.kids) != 2 || !root.kids[1].is(TagContext0) || len(root.kids[1].kids) != 1 {
		return nil, malformed("ContentInfo has no [0] content")
	}
	sdn := root.kids[1].kids[0]
	if !sdn.is(TagSequence) || len(sdn.kids) < 4 {
		return nil, malformed("SignedData is not a SEQUENCE of at least 4 elements")
	}
	sd := &SignedData{}
	k := sdn.kids
	v, ok := smallInt(k[0])
	if !ok {
		return nil, malformed("bad SignedData version")
	}
	sd.Version = v
	if !k[1].is(TagSet) {
		return nil, malformed("digestAlgorithms is not a SET")
	}
	for _, a := range k[1].kids {
		alg, err := parseAlgID(a.DER())
		if err != nil {
			return nil, fmt.Errorf("digestAlgorithms: %w", err)
		}
		sd.DigestAlgorithms = append(sd.DigestAlgorithms, alg)
	}
	eci := k[2]
	if !eci.is(TagSequence) || len(eci.kids) < 1 || len(eci.kids) > 2 || !eci.kids[0].is(TagOID) || !parseOID(eci.kids[0], &sd.EContentType) {
		return nil, malformed("bad encapContentInfo")
	}
	if len(eci.kids) == 2 {
		ec := eci.kids[1]
		if !ec.is(TagContext0) || len(ec.kids) != 1 || !ec.kids[0].is(TagOctetString) {
			return nil, malformed("eContent is not an [0] OCTET STRING")
		}
		sd.HasContent = true
		sd.Content = ec.kids[0].chunks
		if sd.Content == nil {
			sd.Content = [][]byte{}
		}
	}
	rest := k[3:]
	if len(rest) > 0 && rest[0].is(TagContext0) {
		for _, c := range rest[0].kids {
			sd.Certificates = append(sd.Certificates, c.DER())
		}
		rest = rest[1:]
	}
	if len(rest) > 0 && rest[0].is(TagContext1) {
		for _, c := range rest[0].kids {
			sd.CRLs = append(sd.CRLs, c.DER())
		}
		rest = rest[1:]
	}
	if len(rest) != 1 || !rest[0].is(TagSet) {
		return nil, malformed("signerInfos SET missing or followed by extra elements")
	}
	for i, s := range rest[0].kids {
		si, err := ParseSignerInfo(s.DER(), 0)
		if err != nil {
			return nil, fmt.Errorf("signerInfo %d: %w", i, err)
		}
		sd.SignerInfos = append(sd.SignerInfos, si)
	}
	return sd, nil
}

func parseOID(n *node, out *asn1.ObjectIdentifier) bool {
	s := cryptobyte.String(n.DER())
	return s.ReadASN1ObjectIdentifier(out) && s.Empty()
}

func smallInt(n *node) (int, bool) {
	if !n.is(TagInteger) {
		return 0, false
	}
	s := cryptobyte.String(n.DER())
	var v int
	return v, s.ReadASN1Integer(&v) && s.Empty()
}

func parseAlgID(der []byte) (AlgID, error) {
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() || !seq.ReadASN1ObjectIdentifier(&oid) {
		return AlgID{}, malformed("bad AlgorithmIdentifier")
	}
	return AlgID{OID: oid, Raw: der}, nil
}

// ParseAttributes parses a DER SET OF Attribute whose identifier may be anything (SET, or the
// [0]/[1] IMPLICIT tags of SignerInfo). Every value is kept as encoded.
func ParseAttributes(der []byte) ([]Attribute, error) {
	s := cryptobyte.String(der)
	var set cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1(&set, &tag) || !s.Empty() {
		return nil, malformed("bad attribute set")
	}
	var out []Attribute
	for !set.Empty() {
		var full cryptobyte.String
		if !set.ReadASN1Element(&full, cbasn1.SEQUENCE) {
			return nil, malformed("attribute is not a SEQUENCE")
		}
		a := Attribute{Raw: full}
		body := full
		var seq, vals cryptobyte.String
		if !body.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&a.Type) ||
			!seq.ReadASN1(&vals, cbasn1.SET) || !seq.Empty() {
			return nil, malformed("bad attribute")
		}
		for !vals.Empty() {
			var v cryptobyte.String
			var t cbasn1.Tag
			if !vals.ReadAnyASN1Element(&v, &t) {
				return nil, malformed("bad value of attribute %v", a.Type)
			}
			a.Values = append(a.Values, v)
		}
		out = append(out, a)
	}
	return out, nil
}

// ParseSignerInfo parses the DER of a SignerInfo, with its countersignatures (depth is the
// nesting level of this SignerInfo, 0 for a top-level signer).
func ParseSignerInfo(der []byte, depth int) (*SignerInfo, error) {
	if depth > MaxCounterSignatureDepth {
		return nil, malformed("countersignatures nested deeper than %d", MaxCounterSignatureDepth)
	}
	si := &SignerInfo{Raw: der}
	s := cryptobyte.String(der)
	var body cryptobyte.String
	if !s.ReadASN1(&body, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, malformed("SignerInfo is not a SEQUENCE")
	}
	start := body
	if !body.ReadASN1Integer(&si.Version) {
		return nil, malformed("bad SignerInfo version")
	}
	var sid cryptobyte.String
	var tag cbasn1.Tag
	if !body.ReadAnyASN1Element(&sid, &tag) || (tag != cbasn1.SEQUENCE && tag != cbasn1.Tag(0).ContextSpecific()) {
		return nil, malformed("bad SignerInfo sid")
	}
	si.SID = sid
	var alg cryptobyte.String
	if !body.ReadASN1Element(&alg, cbasn1.SEQUENCE) {
		return nil, malformed("bad SignerInfo digestAlgorithm")
	}
	var err error
	if si.DigestAlgorithm, err = parseAlgID(alg); err != nil {
		return nil, err
	}
	if body.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		var sa cryptobyte.String
		body.ReadASN1Element(&sa, cbasn1.Tag(0).Constructed().ContextSpecific())
		si.SignedAttrsRaw = sa
		if si.SignedAttrs, err = ParseAttributes(sa); err != nil {
			return nil, fmt.Errorf("signedAttrs: %w", err)
		}
	}
	if !body.ReadASN1Element(&alg, cbasn1.SEQUENCE) {
		return nil, malformed("bad SignerInfo signatureAlgorithm")
	}
	if si.SignatureAlgorithm, err = parseAlgID(alg); err != nil {
		return nil, err
	}
	var sig cryptobyte.String
	if !body.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return nil, malformed("bad SignerInfo signature")
	}
	si.Signature = sig
	si.prefix = start[:len(start)-len(body)]
	if body.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		var ua cryptobyte.String
		body.ReadASN1Element(&ua, cbasn1.Tag(1).Constructed().ContextSpecific())
		if si.UnsignedAttrs, err = ParseAttributes(ua); err != nil {
			return nil, fmt.Errorf("unsignedAttrs: %w", err)
		}
	}
	if !body.Empty() {
		return nil, malformed("trailing data in SignerInfo")
	}
	for _, a := range si.UnsignedAttrs {
		if !a.Type.Equal(OIDAttrCounterSignature) {
			continue
		}
		for _, v := range a.Values {
			cs, err := ParseSignerInfo(v, depth+1)
			if err != nil {
				return nil, fmt.Errorf("countersignature: %w", err)
			}
			si.CounterSignatures = append(si.CounterSignatures, cs)
		}
	}
	return si, nil
}

// Attr returns the values of the first signed attribute of type t.
func (si *SignerInfo) Attr(t asn1.ObjectIdentifier) ([][]byte, bool) {
	return findAttr(si.SignedAttrs, t)
}

// Unsigned returns the values of the first unsigned attribute of type t.
func (si *SignerInfo) Unsigned(t asn1.ObjectIdentifier) ([][]byte, bool) {
	return findAttr(si.UnsignedAttrs, t)
}

func findAttr(attrs []Attribute, t asn1.ObjectIdentifier) ([][]byte, bool) {
	for _, a := range attrs {
		if a.Type.Equal(t) {
			return a.Values, true
		}
	}
	return nil, false
}

// MessageDigest returns the value of the messageDigest signed attribute.
func (si *SignerInfo) MessageDigest() ([]byte, bool) {
	return MessageDigestOf(si.SignedAttrs)
}

// MessageDigestOf returns the value of the single messageDigest attribute of attrs.
func MessageDigestOf(attrs []Attribute) ([]byte, bool) {
	v, ok := findAttr(attrs, OIDAttrMessageDigest)
	if !ok || len(v) != 1 {
		return nil, false
	}
	s := cryptobyte.String(v[0])
	var d cryptobyte.String
	if !s.ReadASN1(&d, cbasn1.OCTET_STRING) || !s.Empty() {
		return nil, false
	}
	return d, true
}

// ContentTypeOf returns the value of the single contentType attribute of attrs.
func ContentTypeOf(attrs []Attribute) (asn1.ObjectIdentifier, bool) {
	v, ok := findAttr(attrs, OIDAttrContentType)
	if !ok || len(v) != 1 {
		return nil, false
	}
	s := cryptobyte.String(v[0])
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1ObjectIdentifier(&oid) || !s.Empty() {
		return nil, false
	}
	return oid, true
}

// DigestHash returns the hash named by the SignerInfo's digestAlgorithm (0 when unknown).
func (si *SignerInfo) DigestHash() crypto.Hash { return HashFromOID(si.DigestAlgorithm.OID) }

// AddCounterSignature schedules der (an encoded SignerInfo) to be added to this node's
// counterSignature attribute by the next Encode of the SignedData.
func (si *SignerInfo) AddCounterSignature(der []byte) { si.added = append(si.added, der) }

// AddUnsignedAttribute schedules an unsigned attribute (e.g. a signature time-stamp) to be
// added to this SignerInfo by the next Encode.
func (si *SignerInfo) AddUnsignedAttribute(a Attribute) { si.extra = append(si.extra, a) }

func (si *SignerInfo) dirty() bool {
	if len(si.added) > 0 || len(si.extra) > 0 {
		return true
	}
	for _, c := range si.CounterSignatures {
		if c.dirty() {
			return true
		}
	}
	return false
}

// Encode returns the DER of the SignerInfo, re-encoding the unsigned attributes (all the
// countersignatures of the node merged into one counterSignature attribute) only when a
// countersignature or an unsigned attribute was added at or below this node.
func (si *SignerInfo) Encode() []byte {
	if !si.dirty() {
		return si.Raw
	}
	var attrs [][]byte
	var cs [][]byte
	for _, a := range si.UnsignedAttrs {
		if !a.Type.Equal(OIDAttrCounterSignature) {
			attrs = append(attrs, a.Encode())
		}
	}
	for _, c := range si.CounterSignatures {
		cs = append(cs, c.Encode())
	}
	cs = append(cs, si.added...)
	for i := range si.extra {
		attrs = append(attrs, si.extra[i].Encode())
	}
	if len(cs) > 0 {
		attrs = append(attrs, Seq(OIDElem(OIDAttrCounterSignature), SetOf(TagSet, cs, false)).Bytes())
	}
	return Seq(Raw(si.prefix), SetOf(TagContext1, attrs, false)).Bytes()
}

// Walk calls fn for every SignerInfo of the tree in pre-order (each signer, then its
// countersignatures recursively).
func (sd *SignedData) Walk(fn func(si *SignerInfo, depth int) error) error {
	var walk func(si *SignerInfo, depth int) error
	walk = func(si *SignerInfo, depth int) error {
		if err := fn(si, depth); err != nil {
			return err
		}
		for _, c := range si.CounterSignatures {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, si := range sd.SignerInfos {
		if err := walk(si, 0); err != nil {
			return err
		}
	}
	return nil
}

// NewSignedData returns an empty SignedData for content of type contentType; content is nil
// for a detached signature. The content is referenced, not copied.
func NewSignedData(contentType asn1.ObjectIdentifier, content []byte, attached bool) *SignedData {
	sd := &SignedData{Version: 1, EContentType: contentType, HasContent: attached}
	if attached {
		sd.Content = [][]byte{content}
	}
	return sd
}

// AddDigestAlgorithm adds h to digestAlgorithms unless a digest with the same OID is there.
func (sd *SignedData) AddDigestAlgorithm(h crypto.Hash) error {
	der, err := DigestAlgorithm(h)
	if err != nil {
		return err
	}
	oid, _ := DigestOID(h)
	for _, a := range sd.DigestAlgorithms {
		if a.OID.Equal(oid) {
			return nil
		}
	}
	sd.DigestAlgorithms = append(sd.DigestAlgorithms, AlgID{OID: oid, Raw: der})
	return nil
}

// AddCertificates adds the certificates whose DER is not already present.
func (sd *SignedData) AddCertificates(certs ...*x509.Certificate) {
	for _, c := range certs {
		if c == nil {
			continue
		}
		if !slices.ContainsFunc(sd.Certificates, func(b []byte) bool { return bytes.Equal(b, c.Raw) }) {
			sd.Certificates = append(sd.Certificates, c.Raw)
		}
	}
}

// AddSignerInfo schedules an encoded SignerInfo to be added by the next Encode.
func (sd *SignedData) AddSignerInfo(der []byte) { sd.newSigners = append(sd.newSigners, der) }

// ContentHash hashes the encapsulated content with h.
func (sd *SignedData) ContentHash(h crypto.Hash) []byte {
	d := h.New()
	for _, p := range sd.Content {
		d.Write(p)
	}
	return d.Sum(nil)
}

// HashContentInto writes the encapsulated content into d.
func (sd *SignedData) HashContentInto(d hash.Hash) {
	for _, p := range sd.Content {
		d.Write(p)
	}
}

// version computes the SignedData version of RFC 5652 section 5.1.
func (sd *SignedData) version(signers [][]byte) int {
	v := 1
	for _, c := range sd.Certificates {
		switch {
		case len(c) > 0 && c[0] == TagContext3:
			v = max(v, 5)
		case len(c) > 0 && c[0] == TagContext2:
			v = max(v, 4)
		case len(c) > 0 && c[0] == TagContext1:
			v = max(v, 3)
		}
	}
	for _, c := range sd.CRLs {
		if len(c) > 0 && c[0] == TagContext1 {
			v = max(v, 5)
		}
	}
	if !sd.EContentType.Equal(OIDData) {
		v = max(v, 3)
	}
	for _, s := range signers {
		si := cryptobyte.String(s)
		var body cryptobyte.String
		var sv int
		if si.ReadASN1(&body, cbasn1.SEQUENCE) && body.ReadASN1Integer(&sv) && sv == 3 {
			v = max(v, 3)
		}
	}
	return v
}

// Encode returns the DER ContentInfo. Sets (digestAlgorithms, certificates, crls, signerInfos)
// are written in DER order and certificates are de-duplicated; existing SignerInfos keep their
// bytes unless a countersignature was added below them. The output is allocated once at its
// final size; the content is copied into it exactly once.
func (sd *SignedData) Encode() []byte {
	var digests [][]byte
	for _, a := range sd.DigestAlgorithms {
		digests = append(digests, a.Raw)
	}
	signers := make([][]byte, 0, len(sd.SignerInfos)+len(sd.newSigners))
	for _, si := range sd.SignerInfos {
		signers = append(signers, si.Encode())
	}
	signers = append(signers, sd.newSigners...)
	var eContent *Elem
	if sd.HasContent {
		eContent = Cons(TagContext0, Prim(TagOctetString, sd.Content...))
	}
	var certs, crls *Elem
	if len(sd.Certificates) > 0 {
		certs = SetOf(TagContext0, sd.Certificates, true)
	}
	if len(sd.CRLs) > 0 {
		crls = SetOf(TagContext1, sd.CRLs, true)
	}
	v := sd.version(signers)
	body := Seq(
		Raw(mustMarshal(v)),
		SetOf(TagSet, digests, true),
		Seq(OIDElem(sd.EContentType), eContent),
		certs,
		crls,
		SetOf(TagSet, signers, false),
	)
	return Seq(OIDElem(OIDSignedData), Cons(TagContext0, body)).Bytes()
}

func mustMarshal(v int) []byte {
	b, _ := asn1.Marshal(v)
	return b
}

// IssuerAndSerial returns the DER IssuerAndSerialNumber of cert.
func IssuerAndSerial(cert *x509.Certificate) []byte {
	return Seq(Raw(cert.RawIssuer), Raw(marshalInt(cert.SerialNumber))).Bytes()
}

func marshalInt(n *big.Int) []byte {
	if n == nil {
		n = new(big.Int)
	}
	b, _ := asn1.Marshal(n)
	return b
}

// MatchesCert reports whether the SignerInfo's sid identifies cert (issuer and serial, or
// subject key identifier).
func (si *SignerInfo) MatchesCert(cert *x509.Certificate) bool {
	if len(si.SID) > 0 && si.SID[0] == TagSequence {
		return bytes.Equal(si.SID, IssuerAndSerial(cert))
	}
	s := cryptobyte.String(si.SID)
	var ski cryptobyte.String
	if !s.ReadASN1(&ski, cbasn1.Tag(0).ContextSpecific()) {
		return false
	}
	return len(cert.SubjectKeyId) > 0 && bytes.Equal(ski, cert.SubjectKeyId)
}

// ParsedCertificates returns the X.509 certificates of the certificates set (other choices and
// unparsable entries are skipped).
func (sd *SignedData) ParsedCertificates() []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range sd.Certificates {
		if len(c) == 0 || c[0] != TagSequence {
			continue
		}
		if x, err := x509.ParseCertificate(c); err == nil {
			out = append(out, x)
		}
	}
	return out
}
