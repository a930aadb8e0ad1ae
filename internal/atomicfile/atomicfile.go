// Package atomicfile writes a file inside an [os.Root] atomically: the data goes to a temporary
// file in the same directory, is synced, and only then appears under its name. Without
// overwrite, the final step is a hard link, which never replaces an existing file, so two
// concurrent writers cannot clobber each other.
package atomicfile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
)

// Write writes what data writes to name (slash-separated, relative to root) with mode perm
// (a []byte goes in with bytes.NewReader; a large signature streams in pieces). When overwrite
// is false and name exists, it fails without touching the existing file; when true, an existing
// regular file is replaced. A context cancelled before the final step leaves nothing behind.
func Write(ctx context.Context, root *os.Root, name string, data io.WriterTo, perm os.FileMode, overwrite bool) error {
	if fi, err := root.Lstat(name); err == nil {
		if !overwrite {
			return fmt.Errorf("%s already exists and overwriting is disabled", name)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s exists and is not a regular file", name)
		}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	dir := path.Dir(name)
	tmp := path.Join(dir, "."+path.Base(name)+"."+hex.EncodeToString(rnd[:])+".tmp")
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	_, werr := data.WriteTo(f)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = ctx.Err()
	}
	if werr == nil {
		if overwrite {
			werr = root.Rename(tmp, name)
		} else if werr = root.Link(tmp, name); werr == nil {
			_ = root.Remove(tmp)
		}
	}
	if werr != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("writing %s: %w", name, werr)
	}
	return nil
}
