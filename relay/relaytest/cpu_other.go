//go:build !unix

package relaytest

import "time"

// processCPU is not measured on this platform.
func processCPU() time.Duration { return 0 }
