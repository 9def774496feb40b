package he

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
)

// ErrNotFound is returned by a KeyStore for a missing key.
var ErrNotFound = errors.New("he: key not found")

// KeyStore persists a member's committee keys. The node plugs its own
// database in; MemoryStore and FileStore serve tests, benchmarks and
// single-node demos. Values include the member's threshold secret share:
// implementations must keep them private to the node.
//
// Put may keep value without copying it: callers must not modify a value
// after putting it. Get's result belongs to the caller.
type KeyStore interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
}

// MemoryStore is an in-process KeyStore.
type MemoryStore struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: make(map[string][]byte)} }

// Get implements KeyStore.
func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.m[key]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return append([]byte(nil), v...), nil
}

// Put implements KeyStore.
func (s *MemoryStore) Put(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
	return nil
}

// FileStore keeps one file per key in a directory, written atomically with
// owner-only permissions.
type FileStore struct {
	dir string
}

// NewFileStore returns a store rooted at dir, creating it if needed.
func NewFileStore(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("he: key store directory: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

var storeKeyPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`)

func (s *FileStore) path(key string) (string, error) {
	if !storeKeyPattern.MatchString(key) || key == "." || key == ".." {
		return "", fmt.Errorf("he: invalid store key %q", key)
	}
	return filepath.Join(s.dir, key), nil
}

// Get implements KeyStore.
func (s *FileStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	if err != nil {
		return nil, fmt.Errorf("he: read key %s: %w", key, err)
	}
	return b, nil
}

// Put implements KeyStore.
func (s *FileStore) Put(ctx context.Context, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := s.path(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("he: write key %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(value); err != nil {
		tmp.Close()
		return fmt.Errorf("he: write key %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("he: write key %s: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("he: write key %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("he: write key %s: %w", key, err)
	}
	return nil
}
