// Package saver provides the signature savers of XML batches: [File] (class
// es.gob.afirma.signers.batch.SignSaverFile) writes inside one operator-chosen directory, and
// [HTTPPost] (class es.gob.afirma.signers.batch.SignSaverHttpPost) posts to operator-allowed
// URLs. The batch client chooses the file name or URL in each entry's signsaver config; the
// server decides where that may lead.
//
//	reg := batch.NewSaverRegistry()
//	fileSaver, err := saver.File(saver.FileConfig{Root: "/srv/firmas"})
//	reg.Register(batch.ClassSaverFile, fileSaver)
//	reg.Register(batch.ClassSaverHTTPPost, saver.HTTPPost(postFetcher))
package saver

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/trifirma/trifirma"
	"github.com/trifirma/trifirma/batch"
	"github.com/trifirma/trifirma/batch/fetch"
	"github.com/trifirma/trifirma/internal/atomicfile"
)

// Configuration keys of the reference's savers.
const (
	KeyFileName      = "FileName"
	KeyPostURL       = "PostUrl"
	KeyPostParamName = "PostParamName"
)

// FileConfig configures [File].
type FileConfig struct {
	// Root is the directory every file is written in (required; it must exist). FileName is
	// taken relative to it; absolute names, drive letters and ".." are refused, and symbolic
	// links cannot lead outside it.
	Root string
	// MkdirAll lets FileName name subdirectories of Root that do not exist yet.
	MkdirAll bool
	// Overwrite replaces existing files (the reference does). By default a save to an
	// existing name fails, so a batch can never destroy a file it did not write. With
	// Overwrite, a rollback removes the new file; the replaced content is not restored.
	Overwrite bool
	// Perm is the mode of new files; 0 means 0600.
	Perm fs.FileMode
	// BaseNameOnly keeps only the last element of FileName, so batches written for the
	// reference with absolute client paths (C:\Users\...\FIRMA1.xml) save FIRMA1.xml in Root.
	BaseNameOnly bool
}

// File returns the factory of the file saver. Each saver writes its signature atomically
// (temporary file, sync, then link or rename) to Root/FileName, and its Rollback deletes that
// file if it is still the one it wrote.
func File(cfg FileConfig) (batch.SaverFactory, error) {
	if cfg.Root == "" {
		return nil, errors.New("saver: FileConfig.Root is required")
	}
	fi, err := os.Stat(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("saver: root directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("saver: root %s is not a directory", cfg.Root)
	}
	if cfg.Perm == 0 {
		cfg.Perm = 0o600
	}
	return func(config trifirma.Params) (batch.Saver, error) {
		raw := config[KeyFileName]
		if cfg.BaseNameOnly {
			raw = strings.TrimSpace(raw)
			raw = raw[strings.LastIndexAny(raw, `/\`)+1:]
		}
		name, err := LocalName(raw)
		if err != nil {
			return nil, err
		}
		return &fileSaver{cfg: cfg, name: name}, nil
	}, nil
}

// LocalName turns a FileName into a slash-separated path relative to the root: backslashes
// are separators, and absolute paths, drive letters, UNC names, ".." elements, empty names and
// control characters are refused (wrapping [trifirma.ErrInvalidParams]).
func LocalName(name string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: %s %q %s", trifirma.ErrInvalidParams, KeyFileName, name, why)
	}
	n := strings.TrimSpace(name)
	if n == "" {
		return bad("is empty")
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return bad("contains control characters")
		}
	}
	n = strings.ReplaceAll(n, `\`, "/")
	if strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':') {
		return bad("is absolute; it must be relative to the server's output directory")
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return bad("leaves the output directory")
		}
	}
	clean := path.Clean(n)
	if clean == "." || !fs.ValidPath(clean) {
		return bad("is not a valid file name")
	}
	return clean, nil
}

type fileSaver struct {
	cfg  FileConfig
	name string

	mu      sync.Mutex
	written os.FileInfo
}

func (s *fileSaver) Save(ctx context.Context, _ *batch.Item, signature trifirma.Signature) error {
	root, err := os.OpenRoot(s.cfg.Root)
	if err != nil {
		return fmt.Errorf("saver: output directory: %w", err)
	}
	defer root.Close()
	dir := path.Dir(s.name)
	if dir != "." && s.cfg.MkdirAll {
		if err := root.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("saver: creating %s: %w", dir, err)
		}
	}
	if err := atomicfile.Write(ctx, root, s.name, signature, s.cfg.Perm, s.cfg.Overwrite); err != nil {
		return fmt.Errorf("saver: %w", err)
	}
	fi, err := root.Lstat(s.name)
	if err != nil {
		return fmt.Errorf("saver: %s: %w", s.name, err)
	}
	s.mu.Lock()
	s.written = fi
	s.mu.Unlock()
	return nil
}

func (s *fileSaver) Rollback(_ context.Context, _ *batch.Item) error {
	s.mu.Lock()
	written := s.written
	s.written = nil
	s.mu.Unlock()
	if written == nil {
		return nil
	}
	root, err := os.OpenRoot(s.cfg.Root)
	if err != nil {
		return fmt.Errorf("saver: output directory: %w", err)
	}
	defer root.Close()
	fi, err := root.Lstat(s.name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("saver: rollback of %s: %w", s.name, err)
	}
	if !os.SameFile(fi, written) {
		return fmt.Errorf("saver: rollback of %s: the file was replaced after the save; left in place", s.name)
	}
	if err := root.Remove(s.name); err != nil {
		return fmt.Errorf("saver: rollback of %s: %w", s.name, err)
	}
	return nil
}

// HTTPPost returns the factory of the HTTP POST saver: it posts
// PostParamName=<URL-safe Base64 of the signature> (form body, value unescaped like the
// reference) to PostUrl, which f must allow; any 2xx answer is success. Its Rollback cannot
// undo a POST and reports [batch.ErrRollbackUnsupported]. f == nil refuses every URL.
func HTTPPost(f *fetch.Fetcher) batch.SaverFactory {
	return func(config trifirma.Params) (batch.Saver, error) {
		u := strings.TrimSpace(config[KeyPostURL])
		p := strings.TrimSpace(config[KeyPostParamName])
		if u == "" || p == "" {
			return nil, fmt.Errorf("%w: %s and %s are required", trifirma.ErrInvalidParams, KeyPostURL, KeyPostParamName)
		}
		if strings.ContainsAny(p, "&=") {
			return nil, fmt.Errorf("%w: %s %q cannot contain '&' or '='", trifirma.ErrInvalidParams, KeyPostParamName, p)
		}
		if f == nil {
			return nil, fmt.Errorf("%w: this server does not post signatures to URLs", fetch.ErrNotAllowed)
		}
		if err := f.Check(u); err != nil {
			return nil, err
		}
		return &postSaver{f: f, url: u, param: p}, nil
	}
}

type postSaver struct {
	f          *fetch.Fetcher
	url, param string
}

func (s *postSaver) Save(ctx context.Context, _ *batch.Item, signature trifirma.Signature) error {
	n := signature.Size()
	if n < 0 || n > maxPostSignature {
		return fmt.Errorf("saver: a %d-byte signature is too large to post", n)
	}
	// PostParamName=<URL-safe Base64>, encoded while the signature is written out.
	var body bytes.Buffer
	size := len(s.param) + 1 + base64.URLEncoding.EncodedLen(int(n))
	body.Grow(size)
	body.WriteString(s.param)
	body.WriteByte('=')
	enc := base64.NewEncoder(base64.URLEncoding, &body)
	if _, err := signature.WriteTo(enc); err != nil {
		return fmt.Errorf("saver: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("saver: %w", err)
	}
	if body.Len() != size {
		return fmt.Errorf("saver: the signature wrote other than its announced %d bytes", n)
	}
	return s.f.PostForm(ctx, s.url, body.Bytes())
}

// maxPostSignature bounds the signatures the HTTP POST saver sends (its body is built in
// memory).
const maxPostSignature = 1 << 30

func (s *postSaver) Rollback(context.Context, *batch.Item) error {
	return fmt.Errorf("%w: the signature was already posted to %s", batch.ErrRollbackUnsupported, s.url)
}
