package policy

import (
	"crypto"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"

	"github.com/trifirma/trifirma"
)

// Names accepted by expPolicy.
const (
	AGE   = "FirmaAGE"   // AGE policy 1.9 (the current one)
	AGE18 = "FirmaAGE18" // AGE policy 1.8
)

// DataSizeUnknown tells [Expand] that the size of the data to sign is not known (single-sign
// requests: the reference only knows it in batches).
const DataSizeUnknown = -1

// ImplicitModeLimit is the data size under which the AGE CAdES preset chooses mode=implicit when
// the caller did not set mode (1 MiB).
const ImplicitModeLimit = 1 << 20

const (
	sha1URI           = "http://www.w3.org/2000/09/xmldsig#sha1"
	etsiCAdESDetached = "ETSI.CAdES.detached"
)

type preset struct {
	identifier string
	qualifier  string
	hash       map[trifirma.Format]string // per normalised format; absent: not supported
}

var agePresets = map[string]preset{
	AGE: {
		identifier: "urn:oid:2.16.724.1.3.1.1.2.1.9",
		qualifier:  "https://sede.administracion.gob.es/politica_de_firma_anexo_1.pdf",
		hash: map[trifirma.Format]string{
			trifirma.FormatXAdES: "G7roucf600+f03r/o0bAOQ6WAs0=",
			trifirma.FormatCAdES: "G7roucf600+f03r/o0bAOQ6WAs0=",
			trifirma.FormatPAdES: "G7roucf600+f03r/o0bAOQ6WAs0=",
		},
	},
	AGE18: {
		identifier: "urn:oid:2.16.724.1.3.1.1.2.1.8",
		qualifier:  "https://sede.administracion.gob.es/PAG_Sede/dam/jcr:b0de3f91-5171-48e2-81f3-5c2407d9c091/politica_firma_AGE_v1_8.pdf",
		hash: map[trifirma.Format]string{
			trifirma.FormatXAdES: "V8lVVNGDCPen6VELRD1Ja8HARFk=",
			trifirma.FormatCAdES: "7SxX3erFuH31TvAw9LZ70N7p1vA=",
			// The reference's file has a PAdES hash for 1.8, but its expander only accepts
			// FirmaAGE for PAdES.
		},
	},
}

// normalizeFormat maps a format to the family whose preset applies, like the reference: CAdES
// (not CAdES-ASiC-S), XAdES (not XAdES-ASiC-S nor FacturaE), PAdES.
func normalizeFormat(f trifirma.Format) (trifirma.Format, bool) {
	switch f {
	case trifirma.FormatCAdES, trifirma.FormatXAdES, trifirma.FormatPAdES:
		return f, true
	}
	return f, false
}

func incompatibility(p trifirma.Params, op trifirma.Operation, msg string) *trifirma.ConfigNeededError {
	code := trifirma.NeedAGEPolicyIncompatibleSign
	switch op {
	case trifirma.OpCoSign:
		code = trifirma.NeedAGEPolicyIncompatibleCosign
	case trifirma.OpCounterSign:
		code = trifirma.NeedAGEPolicyIncompatibleCSign
	}
	return trifirma.NeedConfig(p, code, ParamAvoidAGEIncompatibs, msg)
}

// Expand replaces expPolicy=FirmaAGE|FirmaAGE18 by the explicit policy parameters for format f
// and returns a new parameter set without expPolicy; p is not modified. Without expPolicy it
// returns a copy of p. The rules are the reference's:
//
//   - CAdES: FirmaAGE and FirmaAGE18; when mode is absent and dataSize is known (not
//     [DataSizeUnknown]) mode becomes implicit under [ImplicitModeLimit] and explicit otherwise;
//     profile is forced to advanced.
//   - XAdES: FirmaAGE and FirmaAGE18; the extra parameter format becomes "XAdES Detached" unless
//     it is "XAdES Detached" or "XAdES Enveloped"; profile is forced to advanced.
//   - PAdES: FirmaAGE only; signatureSubFilter must be absent or ETSI.CAdES.detached and is set
//     to ETSI.CAdES.detached.
//
// Values the caller gave for the keys a preset sets are overwritten (logged at Warn).
//
// Any other policy name (FirmaAGE19 included) or format is an incompatibility: where the
// reference logged it and silently produced a signature without the requested policy, Expand
// returns a [*trifirma.ConfigNeededError] with the agePolicyIncompatibility* code of op and the
// parameter avoidAGEPolicyIncompatibilities. When the caller already set that parameter to
// "true", Expand drops expPolicy and returns the parameters unexpanded (a signature without
// the preset, as the reference); "false" makes the error final (Denied).
func Expand(p trifirma.Params, f trifirma.Format, op trifirma.Operation, dataSize int64) (trifirma.Params, error) {
	out := p.Clone()
	name, ok := out[ParamExpPolicy]
	if !ok {
		return out, nil
	}
	name = strings.TrimSpace(name)
	fail := func(msg string) (trifirma.Params, error) {
		if out.Bool(ParamAvoidAGEIncompatibs, false) {
			delete(out, ParamExpPolicy)
			slog.Warn("signature policy not applied", "expPolicy", name, "format", string(f), "reason", msg)
			return out, nil
		}
		return nil, incompatibility(p, op, msg)
	}
	pr, known := agePresets[name]
	if !known {
		return fail(fmt.Sprintf("expPolicy=%q is not a supported policy preset (FirmaAGE, FirmaAGE18)", name))
	}
	nf, okf := normalizeFormat(f)
	hash, okh := pr.hash[nf]
	if !okf || !okh {
		return fail(fmt.Sprintf("format %s is not supported by policy %s", f, name))
	}
	set := func(k, v string) {
		if old, had := out[k]; had && old != v {
			slog.Warn("extra parameter overridden by the signature policy", "param", k, "expPolicy", name)
		}
		out[k] = v
	}
	switch nf {
	case trifirma.FormatCAdES:
		if _, has := out["mode"]; !has && dataSize >= 0 {
			if dataSize < ImplicitModeLimit {
				out["mode"] = "implicit"
			} else {
				out["mode"] = "explicit"
			}
		}
		set("profile", "advanced")
	case trifirma.FormatXAdES:
		v := out["format"]
		if !strings.EqualFold(v, "XAdES Detached") && !strings.EqualFold(v, "XAdES Enveloped") {
			set("format", "XAdES Detached")
		}
		set("profile", "advanced")
	case trifirma.FormatPAdES:
		if v, has := out["signatureSubFilter"]; has && v != etsiCAdESDetached {
			return fail("PAdES with the AGE policy requires signatureSubFilter=" + etsiCAdESDetached)
		}
		out["signatureSubFilter"] = etsiCAdESDetached
	}
	set(ParamIdentifier, pr.identifier)
	set(ParamHashAlgorithm, sha1URI)
	set(ParamHash, hash)
	set(ParamQualifier, pr.qualifier)
	delete(out, ParamExpPolicy)
	return out, nil
}

// Set writes pol into p as explicit policy parameters.
func (pol *Policy) Set(p trifirma.Params) {
	p[ParamIdentifier] = pol.Identifier
	p[ParamHash] = base64.StdEncoding.EncodeToString(pol.Hash)
	name := pol.HashAlgorithmName
	if name == "" {
		name = trifirma.DigestName(pol.HashAlgorithm)
	}
	p[ParamHashAlgorithm] = name
	if pol.Qualifier != "" {
		p[ParamQualifier] = pol.Qualifier
	} else {
		delete(p, ParamQualifier)
	}
	if pol.Description != "" {
		p[ParamDescription] = pol.Description
	}
}

// FacturaE policy versions.
const (
	FacturaEV31 = "3.1"
	FacturaEV30 = "3.0"
)

// FacturaERoles are the claimed roles a FacturaE signature may carry; the first is the
// default.
var FacturaERoles = []string{"emisor", "receptor", "tercero", "supplier", "customer", "third party"}

// FacturaE returns the FacturaE signature policy of a version ("3.1" or "3.0"); anything else
// wraps [trifirma.ErrInvalidParams].
func FacturaE(version string) (*Policy, error) {
	var id, h string
	switch strings.TrimSpace(version) {
	case FacturaEV31, "":
		id = "http://www.facturae.es/politica_de_firma_formato_facturae/politica_de_firma_formato_facturae_v3_1.pdf"
		h = "Ohixl6upD6av8N7pEvDABhEL6hM="
	case FacturaEV30:
		id = "http://www.facturae.es/politica de firma formato facturae/politica de firma formato facturae v3_0.pdf"
		h = "xmfh8D/Ec/hHeE1IB4zPd61zHIY="
	default:
		return nil, invalid("unknown FacturaE policy version %q", version)
	}
	hv, _ := base64.StdEncoding.DecodeString(h)
	return &Policy{Identifier: id, Hash: hv, HashAlgorithm: crypto.SHA1, HashAlgorithmName: sha1URI}, nil
}

// ResolveAGEIncompatibility is for engines that detect an operation the AGE policy does not
// allow (e.g. XAdES enveloping co-signatures). With an AGE policy configured in p it returns a
// [*trifirma.ConfigNeededError] for op unless avoidAGEPolicyIncompatibilities=true, in which
// case it returns p without the policy parameters (the reference then signs without policy).
// Without an AGE policy it returns p unchanged.
func ResolveAGEIncompatibility(p trifirma.Params, op trifirma.Operation, msg string) (trifirma.Params, error) {
	if !IsAGE(p[ParamIdentifier]) {
		return p, nil
	}
	if p.Bool(ParamAvoidAGEIncompatibs, false) {
		out := p.Clone()
		for _, k := range []string{ParamIdentifier, ParamHash, ParamHashAlgorithm, ParamQualifier, ParamDescription} {
			delete(out, k)
		}
		return out, nil
	}
	return nil, incompatibility(p, op, msg)
}
