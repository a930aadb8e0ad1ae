package relay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// DirOptions configures a [DirStore]. The zero value is usable.
type DirOptions struct {
	// Now is the store's clock. Nil means [time.Now].
	Now func() time.Time
	// SweepInterval is how often expired and abandoned files are deleted. Zero means 10 s; a
	// negative value disables the background sweeper (call [DirStore.Sweep] yourself).
	SweepInterval time.Duration
	// Sync makes Put fsync each file before renaming it into place, so that an entry survives a
	// power loss, at a large cost in throughput. A clean restart never loses entries either way.
	Sync bool
	// Logger receives sweeper failures. Nil means [slog.Default].
	Logger *slog.Logger
}

// Temporary names start with '.', which no valid id contains.
const (
	dirTmpPrefix   = ".tmp-"
	dirClaimPrefix = ".get-"
	// dirStaleAfter is the age after which an abandoned temporary file is swept.
	dirStaleAfter = 5 * time.Minute
)

// DirStore is a [Store] on a local directory: one file per entry, named by its id, written to a
// temporary file (mode 0600) and renamed into place, with its modification time set to the
// entry's expiry instant. A read renames the file to a private name before reading it, so each
// entry is handed out at most once even to several processes sharing the directory. Entries
// survive a restart. A background sweeper deletes expired entries. The file layout is not the
// reference services' (they use the modification time as the creation time), so do not share a
// directory with them.
type DirStore struct {
	dir    string
	now    func() time.Time
	sync   bool
	logger *slog.Logger
	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool
}

// NewDirStore opens (creating it with mode 0700 if needed) the directory dir as a store and
// starts its sweeper. Call Close to stop the sweeper.
func NewDirStore(dir string, opts DirOptions) (*DirStore, error) {
	if dir == "" {
		return nil, errors.New("relay: directory store needs a path")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("relay: directory store: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("relay: directory store: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("relay: directory store: %s is not a directory", dir)
	}
	s := &DirStore{
		dir:    dir,
		now:    opts.Now,
		sync:   opts.Sync,
		logger: opts.Logger,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	// Fail early when the directory is not writable.
	probe, err := os.CreateTemp(dir, dirTmpPrefix+"probe-*")
	if err != nil {
		return nil, fmt.Errorf("relay: directory store is not writable: %w", err)
	}
	probe.Close()
	os.Remove(probe.Name())

	interval := opts.SweepInterval
	if interval == 0 {
		interval = 10 * time.Second
	}
	if interval > 0 {
		go s.sweeper(interval)
	} else {
		close(s.done)
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *DirStore) Dir() string { return s.dir }

// Put implements [Store].
func (s *DirStore) Put(_ context.Context, id string, data []byte, ttl time.Duration) (err error) {
	if !ValidID(id) {
		return fmt.Errorf("directory store put: %w", ErrInvalidID)
	}
	if ttl <= 0 {
		return fmt.Errorf("directory store put: %w", ErrInvalidTTL)
	}
	if s.closed.Load() {
		return errors.New("directory store put: store is closed")
	}
	f, err := os.CreateTemp(s.dir, dirTmpPrefix+"*") // mode 0600
	if err != nil {
		return fmt.Errorf("directory store put: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil && s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("directory store put: %w", err)
	}
	exp := s.now().Add(ttl)
	if err = os.Chtimes(tmp, exp, exp); err != nil {
		return fmt.Errorf("directory store put: %w", err)
	}
	if err = os.Rename(tmp, filepath.Join(s.dir, id)); err != nil {
		return fmt.Errorf("directory store put: %w", err)
	}
	return nil
}

// GetAndDelete implements [Store].
func (s *DirStore) GetAndDelete(_ context.Context, id string) ([]byte, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("directory store get: %w", ErrInvalidID)
	}
	claim := filepath.Join(s.dir, dirClaimPrefix+randomSuffix())
	if err := os.Rename(filepath.Join(s.dir, id), claim); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("directory store get: %w", err)
	}
	defer os.Remove(claim)
	fi, err := os.Lstat(claim)
	if err != nil {
		return nil, fmt.Errorf("directory store get: %w", err)
	}
	// Like the reference: something that is not a regular file, or is expired, is "not found".
	if !fi.Mode().IsRegular() || !fi.ModTime().After(s.now()) {
		return nil, ErrNotFound
	}
	data, err := os.ReadFile(claim)
	if err != nil {
		return nil, fmt.Errorf("directory store get: %w", err)
	}
	return data, nil
}

func randomSuffix() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Sweep deletes expired entries and temporary files abandoned for more than five minutes. It
// returns the number of files deleted.
func (s *DirStore) Sweep() (int, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fmt.Errorf("directory store sweep: %w", err)
	}
	now := s.now()
	n := 0
	for _, de := range entries {
		name := de.Name()
		temp := strings.HasPrefix(name, dirTmpPrefix) || strings.HasPrefix(name, dirClaimPrefix)
		if !temp && !ValidID(name) {
			continue // not ours
		}
		fi, err := de.Info()
		if err != nil {
			continue // deleted meanwhile
		}
		if temp {
			if fi.ModTime().After(now.Add(-dirStaleAfter)) {
				continue
			}
		} else if fi.ModTime().After(now) {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err == nil {
			n++
		}
	}
	return n, nil
}

func (s *DirStore) sweeper(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Sweep(); err != nil {
			s.logger.Warn("relay directory store: sweep failed", "err", err)
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// Close stops the sweeper. Files stay on disk for the next process.
func (s *DirStore) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		close(s.stop)
	}
	<-s.done
	return nil
}
