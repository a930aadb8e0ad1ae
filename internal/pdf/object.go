// Package pdf is a focused PDF reader and incremental-update writer for signing.
//
// The reader works over an [io.ReaderAt] (zero-copy over a byte slice with [OpenBytes]): it
// finds the last cross-reference section, follows /Prev chains through classic tables, xref
// streams and hybrid files, resolves objects lazily (including objects inside object streams),
// decrypts strings and streams of encrypted documents (standard security handler, RC4 and AES,
// revisions 2 to 6) and repairs a damaged cross-reference in memory by scanning the file.
// It never loads objects it is not asked for, so opening a 200 MB document reads only its
// cross-reference and trailer.
//
// The writer ([Update]) appends an incremental update that never rewrites an original byte:
// new and changed objects, a cross-reference section in the form the file already uses (table
// or stream), and a trailer chained to the previous one with /Prev. Objects written into an
// encrypted document are encrypted with the document's key (deterministically, so that the same
// update can be rebuilt byte for byte).
package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// ErrMalformed is wrapped by every error about a document that cannot be parsed.
var ErrMalformed = errors.New("pdf: malformed document")

// ErrEncrypted is wrapped when an encrypted document is opened without a password that
// authenticates (see [ErrBadPassword] for a wrong password).
var ErrEncrypted = errors.New("pdf: document is encrypted and no password was given")

// ErrBadPassword is wrapped when the password given does not open the document.
var ErrBadPassword = errors.New("pdf: wrong password")

// ErrUnsupported is wrapped for valid PDF features this package does not implement
// (e.g. public-key security handlers, unknown stream filters).
var ErrUnsupported = errors.New("pdf: unsupported feature")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, a...)...)
}

// Object is a PDF object: nil (null), bool, int64, float64, [String], [Name], [Array],
// *[Dict], *[Stream] or [Ref].
type Object any

// Name is a PDF name without the leading slash, with #xx escapes decoded.
type Name string

// String is a PDF string (its decoded, decrypted bytes).
type String []byte

// Ref is an indirect reference.
type Ref struct {
	Num int
	Gen int
}

// String returns "num gen R".
func (r Ref) String() string { return strconv.Itoa(r.Num) + " " + strconv.Itoa(r.Gen) + " R" }

// Array is a PDF array.
type Array []Object

// Dict is a PDF dictionary that keeps the order of its keys (so that serialisation is
// deterministic).
type Dict struct {
	keys []Name
	vals []Object
}

// NewDict returns a dictionary built from alternating keys and values.
func NewDict(kv ...any) *Dict {
	d := &Dict{keys: make([]Name, 0, len(kv)/2), vals: make([]Object, 0, len(kv)/2)}
	for i := 0; i+1 < len(kv); i += 2 {
		var k Name
		switch t := kv[i].(type) {
		case Name:
			k = t
		case string:
			k = Name(t)
		default:
			continue
		}
		d.Set(k, kv[i+1])
	}
	return d
}

// Len returns the number of entries.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.keys)
}

// Keys returns the keys in order.
func (d *Dict) Keys() []Name {
	if d == nil {
		return nil
	}
	return append([]Name(nil), d.keys...)
}

// Get returns the value of key (nil when absent). It does not resolve references.
func (d *Dict) Get(key Name) Object {
	if d == nil {
		return nil
	}
	for i, k := range d.keys {
		if k == key {
			return d.vals[i]
		}
	}
	return nil
}

// Has reports whether key is present.
func (d *Dict) Has(key Name) bool {
	if d == nil {
		return false
	}
	for _, k := range d.keys {
		if k == key {
			return true
		}
	}
	return false
}

// Set sets key to v, keeping the position of an existing key. A nil value deletes the key
// (a null value is the same as an absent key in PDF).
func (d *Dict) Set(key Name, v Object) {
	if v == nil {
		d.Del(key)
		return
	}
	for i, k := range d.keys {
		if k == key {
			d.vals[i] = v
			return
		}
	}
	d.keys = append(d.keys, key)
	d.vals = append(d.vals, v)
}

// Del removes key.
func (d *Dict) Del(key Name) {
	for i, k := range d.keys {
		if k == key {
			d.keys = append(d.keys[:i], d.keys[i+1:]...)
			d.vals = append(d.vals[:i], d.vals[i+1:]...)
			return
		}
	}
}

// Clone returns a shallow copy of d (values are shared).
func (d *Dict) Clone() *Dict {
	if d == nil {
		return &Dict{}
	}
	return &Dict{keys: append([]Name(nil), d.keys...), vals: append([]Object(nil), d.vals...)}
}

// Stream is a stream object: its dictionary and its data. Data is the data as stored in the
// file (still encoded by its filters) but already decrypted.
type Stream struct {
	Dict *Dict
	Data []byte
}

// Int returns o as an integer (reals are truncated) and whether it was a number.
func Int(o Object) (int64, bool) {
	switch v := o.(type) {
	case int64:
		return v, true
	case float64:
		if math.IsNaN(v) || v > math.MaxInt64/2 || v < math.MinInt64/2 {
			return 0, false
		}
		return int64(v), true
	}
	return 0, false
}

// Number returns o as a float and whether it was a number.
func Number(o Object) (float64, bool) {
	switch v := o.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// ---------------------------------------------------------------------------------------------
// Serialisation

// Append appends the PDF syntax of o to b. Strings are written as literal strings when they
// are mostly printable, hex otherwise. Reals are written without exponent.
func Append(b []byte, o Object) []byte {
	switch v := o.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		if v {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case float64:
		return appendReal(b, v)
	case Name:
		return appendName(b, v)
	case String:
		return appendString(b, v)
	case HexString:
		return appendHex(b, v)
	case Ref:
		b = strconv.AppendInt(b, int64(v.Num), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(v.Gen), 10)
		return append(b, " R"...)
	case Array:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ' ')
			}
			b = Append(b, e)
		}
		return append(b, ']')
	case *Dict:
		b = append(b, "<<"...)
		if v != nil {
			for i, k := range v.keys {
				b = appendName(b, k)
				if needsSpace(v.vals[i]) {
					b = append(b, ' ')
				}
				b = Append(b, v.vals[i])
			}
		}
		return append(b, ">>"...)
	case Raw:
		return append(b, v...)
	}
	return append(b, "null"...)
}

// HexString is a string that is always written in hex form.
type HexString []byte

// Raw is pre-serialised PDF syntax written verbatim.
type Raw []byte

func needsSpace(o Object) bool {
	switch r := o.(type) {
	case Name, String, HexString, Array, *Dict:
		return false
	case Raw:
		return len(r) == 0 || !(r[0] == '/' || r[0] == '(' || r[0] == '<' || r[0] == '[')
	}
	return true
}

func appendReal(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	s := strconv.FormatFloat(f, 'f', 5, 64)
	s = trimZeros(s)
	return append(b, s...)
}

func trimZeros(s string) string {
	if !bytes.ContainsRune([]byte(s), '.') {
		return s
	}
	for len(s) > 0 && s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

const hexDigits = "0123456789ABCDEF"

func appendName(b []byte, n Name) []byte {
	b = append(b, '/')
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c < '!' || c > '~' || c == '#' || isDelim(c) {
			b = append(b, '#', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

func appendString(b []byte, s []byte) []byte {
	np := 0
	for _, c := range s {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			np++
		}
	}
	if np*4 > len(s) {
		return appendHex(b, s)
	}
	b = append(b, '(')
	for _, c := range s {
		switch c {
		case '(', ')', '\\':
			b = append(b, '\\', c)
		case '\r':
			b = append(b, '\\', 'r')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			if c < 0x20 {
				b = append(b, '\\', '0'+(c>>6), '0'+((c>>3)&7), '0'+(c&7))
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, ')')
}

func appendHex(b []byte, s []byte) []byte {
	b = append(b, '<')
	for _, c := range s {
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return append(b, '>')
}

// sortedInts returns the keys of m in increasing order.
func sortedInts[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
