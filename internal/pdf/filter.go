package pdf

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// DecodeStream returns the decoded data of s (limited to limit bytes).
func (r *Reader) DecodeStream(s *Stream, limit int) ([]byte, error) { return r.decodeStream(s, limit) }

func (r *Reader) decodeStream(s *Stream, limit int) ([]byte, error) {
	filters, parms := r.filterList(s.Dict)
	data := s.Data
	for i, f := range filters {
		var p *Dict
		if i < len(parms) {
			p = parms[i]
		}
		var err error
		switch f {
		case "FlateDecode", "Fl":
			data, err = inflate(data, limit)
			if err == nil {
				data, err = unpredict(data, p)
			}
		case "ASCIIHexDecode", "AHx":
			data, err = asciiHex(data)
		case "ASCII85Decode", "A85":
			data, err = ascii85(data)
		case "RunLengthDecode", "RL":
			data, err = runLength(data, limit)
		case "Crypt":
			// Identity crypt filter: the data was already handled by the security handler.
		default:
			return nil, fmt.Errorf("%w: stream filter /%s", ErrUnsupported, f)
		}
		if err != nil {
			return nil, err
		}
		if len(data) > limit {
			return nil, malformed("decoded stream exceeds %d bytes", limit)
		}
	}
	return data, nil
}

func (r *Reader) filterList(d *Dict) ([]Name, []*Dict) {
	var fs []Name
	var ps []*Dict
	switch f := d.Get("Filter").(type) {
	case Name:
		fs = []Name{f}
	case Array:
		for _, e := range f {
			if n, ok := e.(Name); ok {
				fs = append(fs, n)
			}
		}
	case Ref:
		return r.filterList(NewDict("Filter", r.mustResolve(f), "DecodeParms", d.Get("DecodeParms")))
	}
	switch p := d.Get("DecodeParms").(type) {
	case *Dict:
		ps = []*Dict{p}
	case Array:
		for _, e := range p {
			pd, _ := r.mustResolve(e).(*Dict)
			ps = append(ps, pd)
		}
	case Ref:
		pd, _ := r.mustResolve(p).(*Dict)
		ps = []*Dict{pd}
	}
	return fs, ps
}

func (r *Reader) mustResolve(o Object) Object {
	v, err := r.Resolve(o)
	if err != nil {
		return nil
	}
	return v
}

func inflate(data []byte, limit int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, malformed("FlateDecode: %v", err)
	}
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(zr, int64(limit)+1))
	if n > int64(limit) {
		return nil, malformed("decoded stream exceeds %d bytes", limit)
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		// Keep what was decoded when the stream is merely truncated or has a bad checksum
		// (common in the wild); refuse when nothing came out.
		if out.Len() == 0 {
			return nil, malformed("FlateDecode: %v", err)
		}
	}
	return out.Bytes(), nil
}

func unpredict(data []byte, p *Dict) ([]byte, error) {
	if p == nil {
		return data, nil
	}
	pred, _ := Int(p.Get("Predictor"))
	if pred <= 1 {
		return data, nil
	}
	colors, ok := Int(p.Get("Colors"))
	if !ok || colors < 1 {
		colors = 1
	}
	bpc, ok := Int(p.Get("BitsPerComponent"))
	if !ok || bpc < 1 {
		bpc = 8
	}
	cols, ok := Int(p.Get("Columns"))
	if !ok || cols < 1 {
		cols = 1
	}
	if colors > 64 || bpc > 16 || cols > 1<<24 {
		return nil, malformed("bad predictor parameters")
	}
	bpp := int((colors*bpc + 7) / 8)
	rowLen := int((colors*bpc*cols + 7) / 8)
	if pred == 2 {
		if bpc != 8 {
			return nil, fmt.Errorf("%w: TIFF predictor with %d bits per component", ErrUnsupported, bpc)
		}
		out := append([]byte(nil), data...)
		for row := 0; row+rowLen <= len(out); row += rowLen {
			for i := bpp; i < rowLen; i++ {
				out[row+i] += out[row+i-bpp]
			}
		}
		return out, nil
	}
	if pred < 10 {
		return nil, fmt.Errorf("%w: predictor %d", ErrUnsupported, pred)
	}
	out := make([]byte, 0, len(data)/(rowLen+1)*rowLen)
	prev := make([]byte, rowLen)
	for pos := 0; pos < len(data); pos += rowLen + 1 {
		ft := data[pos]
		end := pos + 1 + rowLen
		if end > len(data) {
			end = len(data)
		}
		row := make([]byte, rowLen)
		copy(row, data[pos+1:end])
		for i := 0; i < rowLen; i++ {
			var a, b, c byte
			if i >= bpp {
				a = row[i-bpp]
				c = prev[i-bpp]
			}
			b = prev[i]
			switch ft {
			case 0:
			case 1:
				row[i] += a
			case 2:
				row[i] += b
			case 3:
				row[i] += byte((int(a) + int(b)) / 2)
			case 4:
				row[i] += paeth(a, b, c)
			default:
				return nil, malformed("bad PNG predictor row type %d", ft)
			}
		}
		out = append(out, row[:end-pos-1]...)
		prev = row
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func asciiHex(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data)/2)
	var hi byte
	half := false
	for _, c := range data {
		if c == '>' {
			break
		}
		if isWS(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return nil, malformed("ASCIIHexDecode: bad digit %q", c)
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	return out, nil
}

func ascii85(data []byte) ([]byte, error) {
	out := make([]byte, 0, len(data)*4/5)
	var tuple uint64
	n := 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		if isWS(c) {
			continue
		}
		if c == '~' {
			break
		}
		if c == 'z' && n == 0 {
			out = append(out, 0, 0, 0, 0)
			continue
		}
		if c < '!' || c > 'u' {
			return nil, malformed("ASCII85Decode: bad character %q", c)
		}
		tuple = tuple*85 + uint64(c-'!')
		n++
		if n == 5 {
			if tuple > 0xffffffff {
				return nil, malformed("ASCII85Decode: group overflows")
			}
			out = append(out, byte(tuple>>24), byte(tuple>>16), byte(tuple>>8), byte(tuple))
			tuple, n = 0, 0
		}
	}
	if n == 1 {
		return nil, malformed("ASCII85Decode: truncated group")
	}
	if n > 1 {
		for k := n; k < 5; k++ {
			tuple = tuple*85 + 84
		}
		b := []byte{byte(tuple >> 24), byte(tuple >> 16), byte(tuple >> 8), byte(tuple)}
		out = append(out, b[:n-1]...)
	}
	return out, nil
}

func runLength(data []byte, limit int) ([]byte, error) {
	var out []byte
	for i := 0; i < len(data); {
		l := int(data[i])
		i++
		switch {
		case l == 128:
			return out, nil
		case l < 128:
			if i+l+1 > len(data) {
				return nil, malformed("RunLengthDecode: truncated run")
			}
			out = append(out, data[i:i+l+1]...)
			i += l + 1
		default:
			if i >= len(data) {
				return nil, malformed("RunLengthDecode: truncated run")
			}
			for k := 0; k < 257-l; k++ {
				out = append(out, data[i])
			}
			i++
		}
		if len(out) > limit {
			return nil, malformed("decoded stream exceeds %d bytes", limit)
		}
	}
	return out, nil
}
