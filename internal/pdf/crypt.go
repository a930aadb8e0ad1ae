package pdf

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rc4"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
)

var passwordPad = []byte{
	0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
	0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
}

type cipherKind int

const (
	cipherNone cipherKind = iota
	cipherRC4
	cipherAESV2
	cipherAESV3
)

// crypt is the standard security handler state of an open document.
type crypt struct {
	v, r        int
	key         []byte
	strF, stmF  cipherKind
	encMetadata bool
	p           int32
	owner       bool // authenticated with the owner password
}

// Permissions returns the /P value of an encrypted document and whether it was opened with
// the owner password (ok is false for an unencrypted document).
func (r *Reader) Permissions() (p int32, owner bool, ok bool) {
	if r.crypt == nil {
		return 0, false, false
	}
	return r.crypt.p, r.crypt.owner, true
}

func (r *Reader) setupEncryption(opts *Options) error {
	r.crypt = nil
	eo := r.trailer.Get("Encrypt")
	if eo == nil {
		return nil
	}
	if ref, ok := eo.(Ref); ok {
		r.encryptRef = ref
	}
	ev, err := r.Resolve(eo)
	if err != nil {
		return fmt.Errorf("reading the /Encrypt dictionary: %w", err)
	}
	ed, ok := ev.(*Dict)
	if !ok {
		return malformed("the /Encrypt entry is not a dictionary")
	}
	if f, _ := ed.Get("Filter").(Name); f != "Standard" {
		return fmt.Errorf("%w: security handler /%s (only the standard password handler is supported)", ErrUnsupported, f)
	}
	var id0 []byte
	if ida, ok := r.mustResolve(r.trailer.Get("ID")).(Array); ok && len(ida) > 0 {
		if s, ok := r.mustResolve(ida[0]).(String); ok {
			id0 = s
		}
	}
	c, err := newCrypt(r, ed)
	if err != nil {
		return err
	}
	o, _ := r.mustResolve(ed.Get("O")).(String)
	u, _ := r.mustResolve(ed.Get("U")).(String)
	tryPw := func(pw string) bool {
		if c.r >= 5 {
			oe, _ := r.mustResolve(ed.Get("OE")).(String)
			ue, _ := r.mustResolve(ed.Get("UE")).(String)
			if k := c.authOwnerV5([]byte(pw), o, u, oe); k != nil {
				c.key, c.owner = k, true
				return true
			}
			if k := c.authUserV5([]byte(pw), u, ue); k != nil {
				c.key, c.owner = k, false
				return true
			}
			return false
		}
		n := 5
		if c.r >= 3 {
			l, ok := Int(r.mustResolve(ed.Get("Length")))
			if !ok || l == 0 {
				l = 40
			}
			if l%8 != 0 || l < 40 || l > 128 {
				return false
			}
			n = int(l / 8)
		}
		if k := c.authOwner([]byte(pw), o, u, id0, n); k != nil {
			c.key, c.owner = k, true
			return true
		}
		if k := c.authUser([]byte(pw), o, u, id0, n); k != nil {
			c.key, c.owner = k, false
			return true
		}
		return false
	}
	if len(o) < 32 || len(u) < 32 {
		return malformed("the /Encrypt dictionary has bad /O or /U values")
	}
	if len(opts.Passwords) == 0 {
		if opts.AllowEmptyPassword && tryPw("") {
			r.crypt = c
			r.resetCache()
			return nil
		}
		return ErrEncrypted
	}
	for _, pw := range opts.Passwords {
		if tryPw(pw) {
			r.crypt = c
			r.resetCache()
			return nil
		}
	}
	return ErrBadPassword
}

func (r *Reader) resetCache() {
	keep, ok := r.cache[r.encryptRef.Num]
	r.cache = map[int]Object{}
	if ok && r.encryptRef.Num > 0 {
		r.cache[r.encryptRef.Num] = keep
	}
	r.objStms = map[int]*objStm{}
}

func newCrypt(r *Reader, ed *Dict) (*crypt, error) {
	v, _ := Int(r.mustResolve(ed.Get("V")))
	rev, _ := Int(r.mustResolve(ed.Get("R")))
	p, _ := Int(r.mustResolve(ed.Get("P")))
	c := &crypt{v: int(v), r: int(rev), p: int32(uint32(p)), encMetadata: true}
	if b, ok := r.mustResolve(ed.Get("EncryptMetadata")).(bool); ok {
		c.encMetadata = b
	}
	switch c.v {
	case 1, 2:
		c.strF, c.stmF = cipherRC4, cipherRC4
	case 4, 5:
		cf := r.GetDict(ed.Get("CF"))
		kind := func(name Name) (cipherKind, error) {
			if name == "" || name == "Identity" {
				return cipherNone, nil
			}
			fd := r.GetDict(cf.Get(name))
			if fd == nil {
				return 0, malformed("crypt filter /%s is not defined", name)
			}
			switch m, _ := fd.Get("CFM").(Name); m {
			case "V2":
				return cipherRC4, nil
			case "AESV2":
				return cipherAESV2, nil
			case "AESV3":
				return cipherAESV3, nil
			case "None", "":
				return cipherNone, nil
			default:
				return 0, fmt.Errorf("%w: crypt filter method /%s", ErrUnsupported, m)
			}
		}
		sf, _ := ed.Get("StrF").(Name)
		tf, _ := ed.Get("StmF").(Name)
		var err error
		if c.strF, err = kind(sf); err != nil {
			return nil, err
		}
		if c.stmF, err = kind(tf); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: encryption algorithm /V %d", ErrUnsupported, c.v)
	}
	if c.r < 2 || c.r > 6 {
		return nil, fmt.Errorf("%w: standard security handler revision %d", ErrUnsupported, c.r)
	}
	return c, nil
}

func padPassword(pw []byte) []byte {
	out := make([]byte, 32)
	n := copy(out, pw)
	copy(out[n:], passwordPad)
	return out
}

// fileKey is Algorithm 2 of ISO 32000-1.
func (c *crypt) fileKey(pw, o, id0 []byte, n int) []byte {
	h := md5.New()
	h.Write(padPassword(pw))
	h.Write(o[:32])
	var pb [4]byte
	binary.LittleEndian.PutUint32(pb[:], uint32(c.p))
	h.Write(pb[:])
	h.Write(id0)
	if c.r >= 4 && !c.encMetadata {
		h.Write([]byte{0xff, 0xff, 0xff, 0xff})
	}
	k := h.Sum(nil)
	if c.r >= 3 {
		for i := 0; i < 50; i++ {
			s := md5.Sum(k[:n])
			k = s[:]
		}
	}
	return k[:n]
}

func rc4Apply(key, data []byte) []byte {
	ci, err := rc4.NewCipher(key)
	if err != nil {
		return nil
	}
	out := make([]byte, len(data))
	ci.XORKeyStream(out, data)
	return out
}

// authUser is Algorithm 6: it returns the file key when pw is the user password.
func (c *crypt) authUser(pw, o, u, id0 []byte, n int) []byte {
	key := c.fileKey(pw, o, id0, n)
	if c.r == 2 {
		if bytes.Equal(rc4Apply(key, passwordPad), u[:32]) {
			return key
		}
		return nil
	}
	h := md5.New()
	h.Write(passwordPad)
	h.Write(id0)
	x := rc4Apply(key, h.Sum(nil))
	tmp := make([]byte, len(key))
	for i := 1; i <= 19; i++ {
		for j := range key {
			tmp[j] = key[j] ^ byte(i)
		}
		x = rc4Apply(tmp, x)
	}
	if bytes.Equal(x[:16], u[:16]) {
		return key
	}
	return nil
}

// authOwner is Algorithm 7.
func (c *crypt) authOwner(pw, o, u, id0 []byte, n int) []byte {
	s := md5.Sum(padPassword(pw))
	k := s[:]
	if c.r >= 3 {
		for i := 0; i < 50; i++ {
			s := md5.Sum(k)
			k = s[:]
		}
	}
	k = k[:n]
	var user []byte
	if c.r == 2 {
		user = rc4Apply(k, o[:32])
	} else {
		user = append([]byte(nil), o[:32]...)
		tmp := make([]byte, n)
		for i := 19; i >= 0; i-- {
			for j := range k {
				tmp[j] = k[j] ^ byte(i)
			}
			user = rc4Apply(tmp, user)
		}
	}
	return c.authUser(user, o, u, id0, n)
}

func truncPw(pw []byte) []byte {
	if len(pw) > 127 {
		return pw[:127]
	}
	return pw
}

// hashV5 is the R5 (SHA-256) or R6 (Algorithm 2.B) password hash.
func (c *crypt) hashV5(pw, salt, udata []byte) []byte {
	h := sha256.New()
	h.Write(pw)
	h.Write(salt)
	h.Write(udata)
	k := h.Sum(nil)
	if c.r == 5 {
		return k
	}
	for round := 0; ; round++ {
		seq := make([]byte, 0, len(pw)+len(k)+len(udata))
		seq = append(seq, pw...)
		seq = append(seq, k...)
		seq = append(seq, udata...)
		k1 := bytes.Repeat(seq, 64)
		blk, err := aes.NewCipher(k[:16])
		if err != nil {
			return nil
		}
		e := make([]byte, len(k1))
		cipher.NewCBCEncrypter(blk, k[16:32]).CryptBlocks(e, k1)
		sum := 0
		for _, b := range e[:16] {
			sum += int(b)
		}
		var hh hash.Hash
		switch sum % 3 {
		case 0:
			hh = sha256.New()
		case 1:
			hh = sha512.New384()
		default:
			hh = sha512.New()
		}
		hh.Write(e)
		k = hh.Sum(nil)
		if round >= 63 && int(e[len(e)-1]) <= round+1-32 {
			break
		}
	}
	return k[:32]
}

func aesNoIV(key, data []byte) []byte {
	if len(data) != 32 {
		return nil
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil
	}
	out := make([]byte, 32)
	cipher.NewCBCDecrypter(blk, make([]byte, 16)).CryptBlocks(out, data)
	return out
}

func (c *crypt) authUserV5(pw, u, ue []byte) []byte {
	pw = truncPw(pw)
	if len(u) < 48 {
		return nil
	}
	if !bytes.Equal(c.hashV5(pw, u[32:40], nil), u[:32]) {
		return nil
	}
	return aesNoIV(c.hashV5(pw, u[40:48], nil), ue)
}

func (c *crypt) authOwnerV5(pw, o, u, oe []byte) []byte {
	pw = truncPw(pw)
	if len(o) < 48 || len(u) < 48 {
		return nil
	}
	if !bytes.Equal(c.hashV5(pw, o[32:40], u[:48]), o[:32]) {
		return nil
	}
	return aesNoIV(c.hashV5(pw, o[40:48], u[:48]), oe)
}

func (c *crypt) objKey(ref Ref, kind cipherKind) []byte {
	if kind == cipherAESV3 {
		return c.key
	}
	h := md5.New()
	h.Write(c.key)
	h.Write([]byte{byte(ref.Num), byte(ref.Num >> 8), byte(ref.Num >> 16), byte(ref.Gen), byte(ref.Gen >> 8)})
	if kind == cipherAESV2 {
		h.Write([]byte("sAlT"))
	}
	k := h.Sum(nil)
	n := len(c.key) + 5
	if n > 16 {
		n = 16
	}
	return k[:n]
}

func (c *crypt) decrypt(kind cipherKind, ref Ref, data []byte) ([]byte, error) {
	switch kind {
	case cipherNone:
		return data, nil
	case cipherRC4:
		return rc4Apply(c.objKey(ref, kind), data), nil
	}
	if len(data) == 0 {
		return data, nil
	}
	if len(data) < 16 || len(data)%16 != 0 {
		// Tolerate: some writers leave empty strings unencrypted.
		if len(data) < 16 {
			return nil, malformed("AES-encrypted data of object %d is shorter than one block", ref.Num)
		}
		data = data[:len(data)/16*16]
	}
	blk, err := aes.NewCipher(c.objKey(ref, kind))
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(data)-16)
	cipher.NewCBCDecrypter(blk, data[:16]).CryptBlocks(out, data[16:])
	if n := len(out); n > 0 {
		p := int(out[n-1])
		if p >= 1 && p <= 16 && p <= n {
			out = out[:n-p]
		}
	}
	return out, nil
}

// encrypt encrypts data for object ref. AES initialisation vectors are derived from the key,
// the reference, seq and the data, so that the same update can be rebuilt byte for byte.
func (c *crypt) encrypt(kind cipherKind, ref Ref, seq int, data []byte) []byte {
	switch kind {
	case cipherNone:
		return data
	case cipherRC4:
		return rc4Apply(c.objKey(ref, kind), data)
	}
	key := c.objKey(ref, kind)
	h := sha256.New()
	h.Write([]byte("trifirma-pdf-iv"))
	h.Write(key)
	var nb [16]byte
	binary.BigEndian.PutUint64(nb[:8], uint64(ref.Num)<<16|uint64(ref.Gen))
	binary.BigEndian.PutUint64(nb[8:], uint64(seq))
	h.Write(nb[:])
	h.Write(data)
	iv := h.Sum(nil)[:16]
	p := 16 - len(data)%16
	plain := make([]byte, len(data)+p)
	copy(plain, data)
	for i := len(data); i < len(plain); i++ {
		plain[i] = byte(p)
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil
	}
	out := make([]byte, 16+len(plain))
	copy(out, iv)
	cipher.NewCBCEncrypter(blk, iv).CryptBlocks(out[16:], plain)
	return out
}

func (c *crypt) decryptStream(s *Stream, ref Ref) error {
	kind := c.stmF
	if t, _ := s.Dict.Get("Type").(Name); t == "Metadata" && !c.encMetadata {
		return nil
	}
	if isIdentityCrypt(s.Dict) {
		return nil
	}
	d, err := c.decrypt(kind, ref, s.Data)
	if err != nil {
		return err
	}
	s.Data = d
	return nil
}

func isIdentityCrypt(d *Dict) bool {
	switch f := d.Get("Filter").(type) {
	case Name:
		return f == "Crypt"
	case Array:
		return len(f) > 0 && f[0] == Name("Crypt")
	}
	return false
}

// isSigDict reports whether d is a signature (or document time-stamp) dictionary, whose
// /Contents is never encrypted.
func isSigDict(d *Dict) bool {
	t, _ := d.Get("Type").(Name)
	if t == "Sig" || t == "DocTimeStamp" {
		return true
	}
	return d.Has("ByteRange") && d.Has("Contents") && d.Has("Filter")
}

func decryptObject(c *crypt, o Object, ref Ref, depth int) Object {
	if depth > maxDepth {
		return o
	}
	switch v := o.(type) {
	case String:
		d, err := c.decrypt(c.strF, ref, v)
		if err != nil {
			return v
		}
		return String(d)
	case Array:
		for i := range v {
			v[i] = decryptObject(c, v[i], ref, depth+1)
		}
		return v
	case *Dict:
		decryptStrings(c, v, ref, depth)
		return v
	}
	return o
}

func decryptStrings(c *crypt, d *Dict, ref Ref, depth int) {
	sig := isSigDict(d)
	for i, k := range d.keys {
		if sig && k == "Contents" {
			continue
		}
		d.vals[i] = decryptObject(c, d.vals[i], ref, depth+1)
	}
}
