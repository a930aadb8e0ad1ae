package pades

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/trifirma/trifirma"
)

// Extra parameter names (afirma-protocol.md §5.4).
const (
	ParamSubFilter            = "signatureSubFilter"
	ParamReservedSize         = "signReservedSize"
	ParamReason               = "signReason"
	ParamLocation             = "signatureProductionCity"
	ParamContact              = "signerContact"
	ParamCertificationLevel   = "certificationLevel"
	ParamField                = "signatureField"
	ParamPage                 = "signaturePage"
	ParamPages                = "signaturePages"
	ParamLowerLeftX           = "signaturePositionOnPageLowerLeftX"
	ParamLowerLeftY           = "signaturePositionOnPageLowerLeftY"
	ParamUpperRightX          = "signaturePositionOnPageUpperRightX"
	ParamUpperRightY          = "signaturePositionOnPageUpperRightY"
	ParamRotation             = "signatureRotation"
	ParamRubricImage          = "signatureRubricImage"
	ParamLayer2Text           = "layer2Text"
	ParamLayer2FontFamily     = "layer2FontFamily"
	ParamLayer2FontSize       = "layer2FontSize"
	ParamLayer2FontStyle      = "layer2FontStyle"
	ParamLayer2FontColor      = "layer2FontColor"
	ParamObfuscate            = "obfuscateCertText"
	ParamObfuscationMask      = "obfuscationMask"
	ParamNoCertChain          = "doNotUseCertChainOnPostSign"
	ParamOwnerPassword        = "ownerPassword"
	ParamUserPassword         = "userPassword"
	ParamAllowCertified       = "allowSigningCertifiedPdfs"
	ParamAllowUnregistered    = "allowCosigningUnregisteredSignatures"
	ParamAllowModifiedForm    = "allowModifiedForm"
	ParamCheckSignatures      = "checkSignatures"
	ParamProfile              = "profile"
	ParamPolicyIdentifier     = "policyIdentifier"
	ParamTSAURL               = "tsaURL"
	SubFilterETSI             = "ETSI.CAdES.detached"
	SubFilterPKCS7            = "adbe.pkcs7.detached"
	defaultLayer2FontSize     = 12
	maxReservedSize           = 1 << 20
	minReservedSize           = 1024
	tsaReserve                = 12 << 10
	maxLayerTextLen           = 4096
	maxPagesForAllPagesWidget = 10000
)

// options are the PDF-side extra parameters of one request.
type options struct {
	subFilter     string
	reservedSize  int // 0: automatic
	reason        string
	location      string
	contact       string
	certLevel     int
	field         string
	hasField      bool
	rect          *rect // requested visible rectangle (nil: none)
	pagesSpec     string
	hasPagesSpec  bool
	rotation      int
	rubric        []byte
	layer2        *string
	fontFamily    int
	fontSize      float64
	fontStyle     int
	fontColor     [3]float64
	obfuscate     *bool
	mask          string
	noName        bool
	passwords     []string
	hasPassword   bool
	allowCert     string
	allowUnreg    string
	allowModForm  string
	checkSigs     bool
	wantTimestamp bool
	// shadowPages is the number of pages the shadow-attack check compares (0: no check, -1:
	// all); set by the engine from the request and its configuration.
	shadowPages int
	// revisionChecks enables the checks that compare revisions (modified form, shadow attack);
	// presign runs them, postsign relies on PRE, which commits to the very document presign
	// accepted.
	revisionChecks bool
}

type rect struct{ llx, lly, urx, ury float64 }

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{trifirma.ErrInvalidParams}, a...)...)
}

func intParam(p trifirma.Params, key string) (int, bool, error) {
	v, ok := p[key]
	if !ok || strings.TrimSpace(v) == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, true, bad("%s=%q is not an integer", key, v)
	}
	return n, true, nil
}

var fontColors = map[string][3]float64{
	"black":     {0, 0, 0},
	"white":     {1, 1, 1},
	"lightgray": {192.0 / 255, 192.0 / 255, 192.0 / 255},
	"gray":      {128.0 / 255, 128.0 / 255, 128.0 / 255},
	"darkgray":  {64.0 / 255, 64.0 / 255, 64.0 / 255},
	"red":       {1, 0, 0},
	"pink":      {1, 175.0 / 255, 175.0 / 255},
}

func parseOptions(p trifirma.Params) (*options, error) {
	o := &options{subFilter: SubFilterETSI, fontSize: defaultLayer2FontSize}
	if v, ok := p[ParamSubFilter]; ok && strings.TrimSpace(v) != "" {
		switch strings.TrimPrefix(strings.TrimSpace(v), "/") {
		case SubFilterETSI:
			o.subFilter = SubFilterETSI
		case SubFilterPKCS7:
			o.subFilter = SubFilterPKCS7
		default:
			return nil, bad("%s=%q: use %s or %s", ParamSubFilter, v, SubFilterETSI, SubFilterPKCS7)
		}
	}
	// A policy or the baseline profile forces the ETSI SubFilter, as in the reference.
	if _, ok := p[ParamPolicyIdentifier]; ok || strings.EqualFold(strings.TrimSpace(p[ParamProfile]), "baseline") {
		o.subFilter = SubFilterETSI
	}
	n, ok, err := intParam(p, ParamReservedSize)
	if err != nil {
		return nil, err
	}
	if ok {
		if n < minReservedSize || n > maxReservedSize {
			return nil, bad("%s=%d is outside %d..%d bytes", ParamReservedSize, n, minReservedSize, maxReservedSize)
		}
		o.reservedSize = n
	}
	o.reason = p[ParamReason]
	o.location = p[ParamLocation]
	o.contact = p[ParamContact]
	if n, ok, err = intParam(p, ParamCertificationLevel); err != nil {
		return nil, err
	} else if ok {
		if n < 0 || n > 3 {
			return nil, bad("%s=%d: use 0 (not certified), 1 (no changes), 2 (form filling) or 3 (form filling and annotations)", ParamCertificationLevel, n)
		}
		o.certLevel = n
	}
	if v, ok := p[ParamField]; ok {
		o.field, o.hasField = v, true
	}
	// The visible rectangle: all four coordinates, non-zero width and height.
	keys := []string{ParamLowerLeftX, ParamLowerLeftY, ParamUpperRightX, ParamUpperRightY}
	var coords [4]float64
	present := 0
	for i, k := range keys {
		v, ok := p[k]
		if !ok {
			continue
		}
		present++
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f != f || f > 1e6 || f < -1e6 {
			return nil, bad("%s=%q is not a coordinate", k, v)
		}
		coords[i] = f
	}
	if present > 0 && present < 4 {
		return nil, bad("a visible signature needs all four of %s", strings.Join(keys, ", "))
	}
	if present == 4 {
		r := rect{coords[0], coords[1], coords[2], coords[3]}
		if r.llx > r.urx {
			r.llx, r.urx = r.urx, r.llx
		}
		if r.lly > r.ury {
			r.lly, r.ury = r.ury, r.lly
		}
		if r.urx-r.llx > 0 && r.ury-r.lly > 0 {
			o.rect = &r
		}
	}
	if v, ok := p[ParamPages]; ok {
		o.pagesSpec, o.hasPagesSpec = v, true
	} else if v, ok := p[ParamPage]; ok {
		o.pagesSpec, o.hasPagesSpec = v, true
	}
	if n, _, err = intParam(p, ParamRotation); err != nil {
		return nil, err
	}
	if n%90 != 0 {
		return nil, bad("%s=%d: only multiples of 90 degrees are supported", ParamRotation, n)
	}
	o.rotation = ((n % 360) + 360) % 360
	if v, ok := p[ParamRubricImage]; ok && strings.TrimSpace(v) != "" {
		img, err := trifirma.DecodeBase64(v)
		if err != nil {
			return nil, bad("%s is not Base64", ParamRubricImage)
		}
		o.rubric = img
	}
	if v, ok := p[ParamLayer2Text]; ok {
		if len(v) > maxLayerTextLen {
			return nil, bad("%s is longer than %d bytes", ParamLayer2Text, maxLayerTextLen)
		}
		o.layer2 = &v
	}
	if n, ok, err = intParam(p, ParamLayer2FontFamily); err != nil {
		return nil, err
	} else if ok {
		if n < -1 || n > 4 {
			return nil, bad("%s=%d: use 0 (Courier), 1 (Helvetica), 2 (Times-Roman), 3 (Symbol) or 4 (ZapfDingbats)", ParamLayer2FontFamily, n)
		}
		if n >= 0 {
			o.fontFamily = n
		}
	}
	if v, ok := p[ParamLayer2FontSize]; ok && strings.TrimSpace(v) != "" {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f != f || f > 500 || (f <= 0 && f != -1) {
			return nil, bad("%s=%q is not a font size between 1 and 500", ParamLayer2FontSize, v)
		}
		if f > 0 {
			o.fontSize = f
		}
	}
	if n, ok, err = intParam(p, ParamLayer2FontStyle); err != nil {
		return nil, err
	} else if ok && n > 0 {
		if n > 15 {
			return nil, bad("%s=%d: flags are 1 bold, 2 italic, 4 underline, 8 strike-through", ParamLayer2FontStyle, n)
		}
		o.fontStyle = n
	}
	if v, ok := p[ParamLayer2FontColor]; ok && strings.TrimSpace(v) != "" {
		c, ok := fontColors[strings.ToLower(strings.TrimSpace(v))]
		if !ok {
			// The reference falls back to black for unknown colour names.
			c = fontColors["black"]
		}
		o.fontColor = c
	}
	if v, ok := p[ParamObfuscate]; ok {
		b := strings.EqualFold(strings.TrimSpace(v), "true")
		o.obfuscate = &b
	}
	o.mask = p[ParamObfuscationMask]
	o.noName = p.Bool(ParamNoCertChain, false)
	if v, ok := p[ParamOwnerPassword]; ok {
		o.passwords = append(o.passwords, v)
		o.hasPassword = true
	}
	if v, ok := p[ParamUserPassword]; ok {
		o.passwords = append(o.passwords, v)
		o.hasPassword = true
	}
	o.allowCert = p[ParamAllowCertified]
	o.allowUnreg = p[ParamAllowUnregistered]
	o.allowModForm = p[ParamAllowModifiedForm]
	o.checkSigs = p.Bool(ParamCheckSignatures, false)
	o.wantTimestamp = strings.TrimSpace(p[ParamTSAURL]) != ""
	return o, nil
}
