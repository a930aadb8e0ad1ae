// Package formats assembles the engines of every supported format into the default registry
// the server, the batch handlers and the command use.
package formats

import (
	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/formats/none"
)

// Config configures the default engines. The zero value gives the reference's defaults.
type Config struct{}

// Default returns a registry with an engine for every supported format.
func Default(cfg Config) trifirma.Registry {
	return trifirma.Registry{
		trifirma.FormatNONE: none.New(),
	}
}
