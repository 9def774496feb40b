package blob

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// MaxBlobBytes bounds one object.
const MaxBlobBytes = 64 << 20

// Hash is an object's address.
type Hash [32]byte

// ErrNotFound is returned for an object the store does not hold.
var ErrNotFound = errors.New("blob not found")

// Store keeps objects in badger.
type Store struct {
	db *badger.DB
}

// OpenStore opens the store in dir.
func OpenStore(dir string) (*Store, error) {
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithValueThreshold(1 << 10))
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Put stores data and returns its hash. Storing the same bytes twice is a no-op.
func (s *Store) Put(data []byte) (Hash, error) {
	if len(data) > MaxBlobBytes {
		return Hash{}, fmt.Errorf("blob of %d bytes exceeds %d", len(data), MaxBlobBytes)
	}
	h := Hash(sha256.Sum256(data))
	err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(h[:], data) })
	if err != nil {
		return Hash{}, fmt.Errorf("store blob %x: %w", h[:8], err)
	}
	return h, nil
}

// Get returns the object with hash h.
func (s *Store) Get(h Hash) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(h[:])
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("blob %x: %w", h[:8], err)
	}
	return out, nil
}

// Has reports whether the store holds h.
func (s *Store) Has(h Hash) bool {
	_, err := s.Get(h)
	return err == nil
}
