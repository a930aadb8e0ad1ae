package docmanager

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/internal/atomicfile"
	"github.com/trifirma/trifirma/internal/b64"
)

// MaxNameLen is the longest file name a FileSystem reference may carry, as in the reference.
const MaxNameLen = 150

// FileSystem reads documents from InDir and writes signatures to OutDir, like the reference's
// FileSystemDocumentManager. A reference is the standard Base64 of a file name; names that are
// not local (absolute, "..", separators), symbolic links, non-regular files and files larger
// than MaxSize are refused. All access goes through [os.Root], so nothing outside the two
// directories is ever opened. Signatures are written atomically (temporary file + rename) with
// mode 0600; an existing output is replaced only when Overwrite is set.
type FileSystem struct {
	InDir, OutDir string
	Overwrite     bool
	// MaxSize bounds input documents (0 means the reference's 8,000,000 bytes).
	MaxSize int64
}

func (m *FileSystem) maxSize() int64 {
	if m.MaxSize > 0 {
		return m.MaxSize
	}
	return 8_000_000
}

func decodeName(ref string) (string, error) {
	raw, err := b64.DecodeString(strings.TrimSpace(ref))
	if err != nil {
		return "", fmt.Errorf("%w: the document reference is not Base64", trifirma.ErrDocumentNotFound)
	}
	name := string(raw)
	if name == "" || len(name) > MaxNameLen || strings.ContainsAny(name, `/\`+"\x00") || !fs.ValidPath(name) || name == "." {
		return "", fmt.Errorf("%w: invalid document name %q", trifirma.ErrDocumentNotFound, name)
	}
	return name, nil
}

// GetDocument reads the file named by ref from InDir.
func (m *FileSystem) GetDocument(ctx context.Context, ref string, _ []*x509.Certificate, _ trifirma.Params) ([]byte, error) {
	name, err := decodeName(ref)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(m.InDir)
	if err != nil {
		return nil, fmt.Errorf("docmanager: input directory: %w", err)
	}
	defer root.Close()
	fi, err := root.Lstat(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", trifirma.ErrDocumentNotFound, name)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", trifirma.ErrDocumentNotFound, name)
	}
	if fi.Size() > m.maxSize() {
		return nil, fmt.Errorf("%w: %s has %d bytes, more than %d", trifirma.ErrTooLarge, name, fi.Size(), m.maxSize())
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", trifirma.ErrDocumentNotFound, name)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, m.maxSize()+1))
	if err != nil {
		return nil, fmt.Errorf("docmanager: reading %s: %w", name, err)
	}
	if int64(len(data)) > m.maxSize() {
		return nil, fmt.Errorf("%w: %s grew beyond %d bytes", trifirma.ErrTooLarge, name, m.maxSize())
	}
	return data, ctx.Err()
}

// OutputName returns the name a signature of the document called name gets in OutDir: the
// name without its last extension plus .csig (CAdES), .xsig (XAdES formats), .asics
// (CAdES-ASiC-S), or the original extension otherwise.
func OutputName(name, format string) string {
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	f := strings.ToLower(format)
	switch {
	case f == "cades":
		return base + ".csig"
	case strings.HasPrefix(f, "xades"):
		return base + ".xsig"
	case f == "cades-asic-s":
		return base + ".asics"
	}
	return base + ext
}

// StoreDocument writes signature to OutDir and returns the standard Base64 of its name.
func (m *FileSystem) StoreDocument(ctx context.Context, ref string, chain []*x509.Certificate, signature []byte, params trifirma.Params) (string, error) {
	return m.StoreSignature(ctx, ref, chain, trifirma.BytesSignature(signature), params)
}

// StoreSignature implements [SignatureStorer]: StoreDocument streaming the signature to the
// file.
func (m *FileSystem) StoreSignature(ctx context.Context, ref string, _ []*x509.Certificate, signature trifirma.Signature, params trifirma.Params) (string, error) {
	name, err := decodeName(ref)
	if err != nil {
		return "", err
	}
	out := OutputName(name, params.Get("format", ""))
	root, err := os.OpenRoot(m.OutDir)
	if err != nil {
		return "", fmt.Errorf("docmanager: output directory: %w", err)
	}
	defer root.Close()
	if err := atomicfile.Write(ctx, root, out, signature, 0o600, m.Overwrite); err != nil {
		return "", fmt.Errorf("docmanager: %w", err)
	}
	return b64.EncodeStd([]byte(out)), nil
}

// Rollback deletes the signature StoreDocument wrote for ref (the reference deletes from the
// input directory instead — a quirk not reproduced). A missing file is not an error.
func (m *FileSystem) Rollback(_ context.Context, ref string, _ []*x509.Certificate, params trifirma.Params) error {
	name, err := decodeName(ref)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(m.OutDir)
	if err != nil {
		return fmt.Errorf("docmanager: output directory: %w", err)
	}
	defer root.Close()
	if err := root.Remove(OutputName(name, params.Get("format", ""))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("docmanager: rollback: %w", err)
	}
	return nil
}
