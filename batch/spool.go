package batch

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/trifirma/trifirma"
)

// spool holds the signatures of a transactional batch between their generation and their
// saving: in memory while the total stays under a budget, then in private temporary files
// (mode 0600) in dir, written and read back in pieces. Everything is removed by release. Safe
// for concurrent use.
type spool struct {
	dir    string
	budget int64

	mu    sync.Mutex
	inMem int64
	files []string
}

// spooled is one stored signature.
type spooled struct {
	mem  trifirma.Signature
	path string
	size int64
}

func newSpool(dir string, budget int64) *spool {
	return &spool{dir: dir, budget: budget}
}

// put stores sig (whose bytes the caller must not modify afterwards).
func (s *spool) put(sig trifirma.Signature) (spooled, error) {
	size := sig.Size()
	s.mu.Lock()
	if s.inMem+size <= s.budget {
		s.inMem += size
		s.mu.Unlock()
		return spooled{mem: sig, size: size}, nil
	}
	s.mu.Unlock()
	f, err := os.CreateTemp(s.dir, "trifirma-batch-*.sig")
	if err != nil {
		return spooled{}, fmt.Errorf("batch: temporary storage: %w", err)
	}
	name := f.Name()
	s.mu.Lock()
	s.files = append(s.files, name)
	s.mu.Unlock()
	n, werr := sig.WriteTo(f)
	if werr == nil && n != size {
		werr = fmt.Errorf("the signature wrote %d bytes, announced %d", n, size)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return spooled{}, fmt.Errorf("batch: temporary storage: %w", werr)
	}
	return spooled{path: name, size: size}, nil
}

// get returns the stored signature (one spooled to a file is read from it as it is written
// out).
func (s *spool) get(e spooled) (trifirma.Signature, error) {
	if e.path == "" {
		return e.mem, nil
	}
	fi, err := os.Stat(e.path)
	if err != nil {
		return nil, fmt.Errorf("batch: temporary storage: %w", err)
	}
	if fi.Size() != e.size {
		return nil, fmt.Errorf("batch: temporary storage: %s changed size", e.path)
	}
	return fileSignature(e), nil
}

// fileSignature is a signature spooled to a file.
type fileSignature spooled

func (f fileSignature) Size() int64 { return f.size }

func (f fileSignature) WriteTo(w io.Writer) (int64, error) {
	r, err := os.Open(f.path)
	if err != nil {
		return 0, fmt.Errorf("batch: temporary storage: %w", err)
	}
	defer r.Close()
	n, err := io.Copy(w, io.LimitReader(r, f.size))
	if err == nil && n != f.size {
		err = fmt.Errorf("batch: temporary storage: %s is shorter than the signature", f.path)
	}
	return n, err
}

// drop forgets e (removing its file) once it is saved or abandoned.
func (s *spool) drop(e spooled) {
	if e.path != "" {
		_ = os.Remove(e.path)
		return
	}
	s.mu.Lock()
	s.inMem -= e.size
	s.mu.Unlock()
}

// release removes every temporary file.
func (s *spool) release() {
	s.mu.Lock()
	files := s.files
	s.files = nil
	s.mu.Unlock()
	for _, f := range files {
		_ = os.Remove(f)
	}
}
