package xades

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/c14n"
	"github.com/trifirma/trifirma/internal/xmldom"
)

// Config configures an [Engine]. The zero value gives the defaults.
type Config struct {
	// MaxDocumentSize bounds the document (or signature) given to the engine, in bytes;
	// zero means 256 MiB, and at most 1 GiB is honoured. Larger inputs fail with
	// [trifirma.ErrTooLarge].
	MaxDocumentSize int
	// MaxDepth bounds XML element nesting (zero: 256); MaxElements the number of elements
	// (zero: 10,000,000).
	MaxDepth, MaxElements int
	// Rand is the source of the UUIDs in the Ids; nil means crypto/rand.
	Rand io.Reader
	// Logger receives debug and warning messages; nil means slog.Default().
	Logger *slog.Logger
}

// Engine is the XAdES [trifirma.Engine]. It is safe for concurrent use.
type Engine struct {
	cfg Config
	lim xmldom.Limits
}

var _ trifirma.Engine = (*Engine)(nil)

// New returns a XAdES engine.
func New(cfg Config) *Engine {
	e := &Engine{cfg: cfg}
	e.lim = xmldom.Limits{MaxBytes: e.maxBytes(), MaxDepth: cfg.MaxDepth, MaxElements: cfg.MaxElements}
	return e
}

func (e *Engine) log() *slog.Logger {
	if e.cfg.Logger != nil {
		return e.cfg.Logger
	}
	return slog.Default()
}

func (e *Engine) uuid() (string, error) {
	r := e.cfg.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("xades: random source: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

func (e *Engine) maxBytes() int {
	if e.cfg.MaxDocumentSize > 0 {
		return min(e.cfg.MaxDocumentSize, 1<<30)
	}
	return xmldom.DefaultMaxBytes
}

// parse parses an XML input, mapping errors to the root sentinels.
func (e *Engine) parse(data []byte, what string) (*xmldom.Document, error) {
	if len(data) > e.maxBytes() {
		return nil, fmt.Errorf("%w: %s of %d bytes (limit %d)", trifirma.ErrTooLarge, what, len(data), e.maxBytes())
	}
	d, err := xmldom.Parse(data, e.lim)
	if err != nil {
		if isLimit(err) {
			return nil, fmt.Errorf("%w: %s: %v", trifirma.ErrTooLarge, what, err)
		}
		return nil, fmt.Errorf("%w: %s is not acceptable XML: %v", trifirma.ErrInvalidDocument, what, err)
	}
	return d, nil
}

// cut is content of the output that BASE leaves out: a range of the decoded document, or the
// document in Base64.
type cut struct {
	b64  bool
	s, e int
}

// plan is the output being built: a skeleton with cut markers and new signatures.
type plan struct {
	o       *options
	fresh   bool // the output is a new UTF-8 document
	src     string
	doc     *xmldom.Document // input document (nil for binary data)
	data    []byte           // raw input
	cuts    int
	sigs    []*planned
	inserts []insertion // in-place outputs
}

type insertion struct {
	start, end     int
	prefix, suffix string
	sig            *planned
}

type planned struct {
	s      *newSig
	scope  []xmldom.NS
	parent *xmldom.Node
	graft  func(frag *xmldom.Document) error
	index  int
	pre    []byte
	text   string
	at     int // document order
}

func (p *plan) marker(c cut) string {
	j := p.cuts
	p.cuts++
	if c.b64 {
		return fmt.Sprintf("====REPLACE-%d-B64====", j)
	}
	return fmt.Sprintf("====REPLACE-%d-R%d-%d====", j, c.s, c.e)
}

func (p *plan) resolver(frag *xmldom.Document) resolver {
	return func(id string) []*xmldom.Node {
		var out []*xmldom.Node
		if frag != nil {
			out = append(out, frag.ElementsByID(id)...)
		}
		if p.doc != nil {
			out = append(out, p.doc.ElementsByID(id)...)
		}
		return out
	}
}

// build computes the digests and PRE of every planned signature.
func (e *Engine) build(p *plan) error {
	slices.SortStableFunc(p.sigs, func(a, b *planned) int { return a.at - b.at })
	for i, ps := range p.sigs {
		ps.index = i
		n := len(ps.s.refs)
		digests := make([][]byte, n)
		frag, sig, err := e.fragment(p, ps, digests, nil, nil)
		if err != nil {
			return err
		}
		res := p.resolver(frag)
		var docNode *xmldom.Node
		if p.doc != nil && !p.fresh {
			docNode = &p.doc.Node
		} else {
			docNode = &frag.Node
		}
		for k, r := range ps.s.refs {
			if r.fixed != nil {
				digests[k] = r.fixed
				continue
			}
			if digests[k], err = digestReference(&r.ref, docNode, sig, res, e.lim); err != nil {
				return err
			}
		}
		propT := ps.s.propTransforms(p.o)
		sp := &reference{URI: "#" + ps.s.id("SignedProperties"), Digest: p.o.refDigest, Transforms: propT}
		spd, err := digestReference(sp, docNode, sig, res, e.lim)
		if err != nil {
			return err
		}
		var kid []byte
		if p.o.signKI {
			ki := &reference{URI: "#" + ps.s.id("KeyInfo"), Digest: p.o.refDigest, Transforms: propT}
			if kid, err = digestReference(ki, docNode, sig, res, e.lim); err != nil {
				return err
			}
		}
		_, sig, err = e.fragment(p, ps, digests, spd, kid)
		if err != nil {
			return err
		}
		si := sig.FirstElement(NSDS, "SignedInfo")
		pre, err := c14n.Bytes(si, ps.s.canon(p.o), nil)
		if err != nil {
			return fmt.Errorf("%w: canonicalising SignedInfo: %v", trifirma.ErrInvalidDocument, err)
		}
		ps.pre = pre
	}
	return nil
}

// fragment renders and parses a planned signature (with its wrappers) in place.
func (e *Engine) fragment(p *plan, ps *planned, digests [][]byte, spd, kid []byte) (*xmldom.Document, *xmldom.Node, error) {
	text, err := ps.s.xml(p.o, digests, spd, kid, ps.index)
	if err != nil {
		return nil, nil, err
	}
	if strings.Count(text, "====REPLACEME_") != 1 {
		return nil, nil, invalid("an extra parameter value contains the reserved marker \"====REPLACEME_\"")
	}
	ps.text = text
	frag, err := xmldom.ParseFragment(text, ps.scope, xmldom.Limits{MaxBytes: 64 << 20})
	if err != nil {
		return nil, nil, fmt.Errorf("xades: internal error: generated signature does not parse: %w", err)
	}
	root := frag.Root()
	root.Parent = ps.parent
	if ps.graft != nil {
		if err := ps.graft(frag); err != nil {
			return nil, nil, err
		}
	}
	sigs := frag.ElementsByID(ps.s.id("Signature"))
	if len(sigs) != 1 {
		return nil, nil, fmt.Errorf("xades: internal error: new signature not found")
	}
	return frag, sigs[0], nil
}

// skeleton assembles BASE.
func (p *plan) skeleton() string {
	var b strings.Builder
	if p.fresh {
		b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
		b.WriteString(p.sigs[0].text)
		return b.String()
	}
	ins := slices.Clone(p.inserts)
	slices.SortStableFunc(ins, func(a, b insertion) int { return a.start - b.start })
	pos := 0
	for _, in := range ins {
		if in.start > pos {
			b.WriteString(p.marker(cut{s: pos, e: in.start}))
		}
		b.WriteString(in.prefix)
		b.WriteString(in.sig.text)
		b.WriteString(in.suffix)
		pos = in.end
	}
	if pos < len(p.src) {
		b.WriteString(p.marker(cut{s: pos, e: len(p.src)}))
	}
	return b.String()
}

// Presign implements [trifirma.Engine].
func (e *Engine) Presign(ctx context.Context, req *trifirma.Request) (*trifirma.TriphaseData, error) {
	o, err := e.prepare(req)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var p *plan
	switch o.op {
	case trifirma.OpSign:
		p, err = e.planSign(o, req.Document)
	case trifirma.OpCoSign:
		p, err = e.planCosign(o, req.Document)
	case trifirma.OpCounterSign:
		p, err = e.planCountersign(o, req.Document)
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := e.build(p); err != nil {
		return nil, err
	}
	skel := p.skeleton()
	enc, bom := xmldom.EncUTF8, false
	if !p.fresh {
		enc, bom = p.doc.Encoding, p.doc.BOM
	}
	firmaID := o.sigID
	if firmaID == "" {
		firmaID = p.sigs[0].s.base
	}
	td := &trifirma.TriphaseData{}
	for i, ps := range p.sigs {
		sd := &trifirma.SignData{ID: firmaID}
		if i == 0 {
			sd.Set(trifirma.ParamBase, trifirma.EncodeStd(xmldom.EncodeText([]byte(skel), enc, bom)))
			sd.Set(trifirma.ParamEncoding, enc)
		}
		sd.Set(trifirma.ParamPRE, trifirma.EncodeStd(ps.pre))
		sd.Set(trifirma.ParamNeedPRE, "true")
		if o.alg.Key == trifirma.KeyECDSA {
			sd.Set(trifirma.ParamPK1Decoded, "true")
		}
		td.Signs = append(td.Signs, sd)
	}
	e.log().Debug("xades presign", "op", o.op, "variant", o.variant, "signatures", len(p.sigs), "base", len(skel))
	return td, nil
}

func isLimit(err error) bool {
	var se *xmldom.SyntaxError
	if ok := asSyntax(err, &se); ok {
		return se.Unwrap() == xmldom.ErrLimit
	}
	return false
}

func asSyntax(err error, t **xmldom.SyntaxError) bool {
	se, ok := err.(*xmldom.SyntaxError)
	if ok {
		*t = se
	}
	return ok
}
