// Package formats assembles the engines of every supported format into the default registry
// the server, the batch handlers and the command use.
package formats

import (
	"log/slog"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/cades"
	"github.com/trifirma/trifirma/formats/none"
	"github.com/trifirma/trifirma/formats/pades"
	"github.com/trifirma/trifirma/formats/xades"
)

// Config configures the default engines. The zero value gives the reference's defaults.
type Config struct {
	// TSA selects the time-stamping client for CAdES-T (see cades.AllowTSA); nil refuses
	// tsaURL requests instead of contacting a URL chosen by the client.
	TSA cades.TSAFunc
	// Logger receives the engines' warnings; nil means slog.Default().
	Logger *slog.Logger
}

// Default returns a registry with an engine for every supported format.
func Default(cfg Config) trifirma.Registry {
	xe := xades.New(xades.Config{Logger: cfg.Logger})
	return trifirma.Registry{
		trifirma.FormatCAdES: cades.New(cades.Config{TSA: cfg.TSA, Logger: cfg.Logger}),
		trifirma.FormatNONE:  none.New(),
		trifirma.FormatPAdES: pades.New(pades.Config{TSA: cfg.TSA, Logger: cfg.Logger}),
		trifirma.FormatXAdES: xe,
		// FacturaE is XAdES Enveloped with the FacturaE policy and role rules.
		trifirma.FormatFacturaE: xe,
	}
}
