// Package storeapi holds the pieces of the relay store contract that both package relay and
// its store subpackages need, so that the subpackages do not import relay (which imports them).
package storeapi

import "errors"

// ErrNotFound reports that no live entry exists under an id: never stored, already read, or
// expired. The relay deliberately does not distinguish these cases.
var ErrNotFound = errors.New("relay: entry not found")

// ErrInvalidID reports an id outside the accepted alphabet or length.
var ErrInvalidID = errors.New("relay: invalid id")

// ErrInvalidTTL reports a non-positive time to live.
var ErrInvalidTTL = errors.New("relay: time to live must be positive")

// MaxIDLength is the longest id accepted.
const MaxIDLength = 64

// ValidID reports whether id is 1..MaxIDLength characters of A-Z, a-z, 0-9, '-' and '_'.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
