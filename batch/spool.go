package batch

import (
	"fmt"
	"os"
	"sync"
)

// spool holds the signatures of a transactional batch between their generation and their
// saving: in memory while the total stays under a budget, then in private temporary files
// (mode 0600) in dir. Everything is removed by release. Safe for concurrent use.
type spool struct {
	dir    string
	budget int64

	mu    sync.Mutex
	inMem int64
	files []string
}

// spooled is one stored signature.
type spooled struct {
	mem  []byte
	path string
	size int
}

func newSpool(dir string, budget int64) *spool {
	return &spool{dir: dir, budget: budget}
}

// put stores sig (which the caller must not modify afterwards).
func (s *spool) put(sig []byte) (spooled, error) {
	s.mu.Lock()
	if s.inMem+int64(len(sig)) <= s.budget {
		s.inMem += int64(len(sig))
		s.mu.Unlock()
		return spooled{mem: sig, size: len(sig)}, nil
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
	_, werr := f.Write(sig)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return spooled{}, fmt.Errorf("batch: temporary storage: %w", werr)
	}
	return spooled{path: name, size: len(sig)}, nil
}

// get returns the stored signature.
func (s *spool) get(e spooled) ([]byte, error) {
	if e.path == "" {
		return e.mem, nil
	}
	b, err := os.ReadFile(e.path)
	if err != nil {
		return nil, fmt.Errorf("batch: temporary storage: %w", err)
	}
	if len(b) != e.size {
		return nil, fmt.Errorf("batch: temporary storage: %s changed size", e.path)
	}
	return b, nil
}

// drop forgets e (removing its file) once it is saved or abandoned.
func (s *spool) drop(e spooled) {
	if e.path != "" {
		_ = os.Remove(e.path)
		return
	}
	s.mu.Lock()
	s.inMem -= int64(e.size)
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
