package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// errStopScan ends a scan early without an error.
var errStopScan = errors.New("stop scan")

// Store is the app state in badger: the committed key/value pairs plus the
// height and AppHash they correspond to.
type Store struct {
	db *badger.DB
}

var (
	keyHeight  = []byte("m/height")
	keyAppHash = []byte("m/apphash")
	keyChainID = []byte("m/chainid")
)

func keyAppHashAt(height int64) []byte {
	k := make([]byte, 0, 10)
	k = append(k, "h/"...)
	return binary.BigEndian.AppendUint64(k, uint64(height))
}

// OpenStore opens (or creates) the badger store in dir.
func OpenStore(dir string, log *slog.Logger) (*Store, error) {
	opts := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{log}).
		// A block's writes are committed in one transaction; a larger memtable
		// raises badger's per-transaction limit well above a full block.
		WithMemTableSize(128 << 20).
		WithNumVersionsToKeep(1).
		WithSyncWrites(true)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open app state %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// get reads a committed value. It returns (nil, nil) for absent keys.
func (s *Store) get(key []byte) ([]byte, error) {
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		if out == nil {
			out = []byte{} // present but empty, unlike an absent key
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", key, err)
	}
	return out, nil
}

// scan calls fn for every committed key with the prefix, in key order.
func (s *Store) scan(prefix []byte, fn func(key, val []byte) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := fn(item.KeyCopy(nil), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// lastCommit returns the height and AppHash of the last commit (0, nil when new).
func (s *Store) lastCommit() (int64, []byte, error) {
	h, err := s.get(keyHeight)
	if err != nil {
		return 0, nil, err
	}
	if h == nil {
		return 0, nil, nil
	}
	if len(h) != 8 {
		return 0, nil, fmt.Errorf("corrupt height record of %d bytes", len(h))
	}
	hash, err := s.get(keyAppHash)
	if err != nil {
		return 0, nil, err
	}
	return int64(binary.BigEndian.Uint64(h)), hash, nil
}

// write is one state change of a block; a nil val deletes the key.
type write struct {
	key, val []byte
}

// blockState holds the writes of the block being finalized. Reads see the
// block's own writes first, then the committed state. The writes stay in
// execution order: that order, not a map's, feeds the AppHash.
type blockState struct {
	store  *Store
	writes []write
	index  map[string]int // key → position of its latest write
	seq    uint32         // orders events written at the same height
}

// nextSeq numbers events within the block, in execution order.
func (b *blockState) nextSeq() uint32 {
	b.seq++
	return b.seq
}

func newBlockState(s *Store) *blockState {
	return &blockState{store: s, index: make(map[string]int)}
}

func (b *blockState) get(key []byte) ([]byte, error) {
	if i, ok := b.index[string(key)]; ok {
		return b.writes[i].val, nil // nil for a key deleted in this block
	}
	return b.store.get(key)
}

func (b *blockState) set(key, val []byte) {
	if val == nil {
		val = []byte{} // nil is reserved for deletions
	}
	b.index[string(key)] = len(b.writes)
	b.writes = append(b.writes, write{key: append([]byte(nil), key...), val: val})
}

func (b *blockState) delete(key []byte) {
	b.index[string(key)] = len(b.writes)
	b.writes = append(b.writes, write{key: append([]byte(nil), key...)})
}

// scan calls fn for every key with the prefix in key order, as the state
// will be after the block's writes so far.
func (b *blockState) scan(prefix []byte, fn func(key, val []byte) error) error {
	var pending []string
	for k := range b.index {
		if strings.HasPrefix(k, string(prefix)) {
			pending = append(pending, k)
		}
	}
	sort.Strings(pending)
	emitPending := func(upTo string, inclusive bool) error {
		for len(pending) > 0 && (pending[0] < upTo || inclusive && pending[0] == upTo || upTo == "") {
			w := b.writes[b.index[pending[0]]]
			pending = pending[1:]
			if w.val != nil {
				if err := fn(w.key, w.val); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := b.store.scan(prefix, func(key, val []byte) error {
		k := string(key)
		if err := emitPending(k, false); err != nil {
			return err
		}
		if _, overridden := b.index[k]; overridden {
			return emitPending(k, true)
		}
		return fn(key, val)
	})
	if err != nil {
		return err
	}
	return emitPending("", true)
}

// hash chains the previous AppHash with this block's ordered writes.
func (b *blockState) hash(prev []byte, height int64) []byte {
	h := sha256.New()
	h.Write([]byte("cohort/apphash/v1"))
	h.Write(prev)
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(height))
	h.Write(buf[:])
	for _, w := range b.writes {
		binary.BigEndian.PutUint32(buf[:4], uint32(len(w.key)))
		h.Write(buf[:4])
		h.Write(w.key)
		if w.val == nil {
			h.Write([]byte{0})
			continue
		}
		h.Write([]byte{1})
		binary.BigEndian.PutUint32(buf[:4], uint32(len(w.val)))
		h.Write(buf[:4])
		h.Write(w.val)
	}
	return h.Sum(nil)
}

// commit writes the block's changes, height and AppHash atomically, so that a
// crash leaves either the whole block or none of it on disk.
func (b *blockState) commit(height int64, appHash []byte) error {
	var hb [8]byte
	binary.BigEndian.PutUint64(hb[:], uint64(height))
	err := b.store.db.Update(func(txn *badger.Txn) error {
		// A key written twice in the block is set twice; badger keeps the last.
		for _, w := range b.writes {
			var err error
			if w.val == nil {
				err = txn.Delete(w.key)
			} else {
				err = txn.Set(w.key, w.val)
			}
			if err != nil {
				return err
			}
		}
		if err := txn.Set(keyHeight, hb[:]); err != nil {
			return err
		}
		if err := txn.Set(keyAppHash, appHash); err != nil {
			return err
		}
		return txn.Set(keyAppHashAt(height), appHash)
	})
	if err != nil {
		return fmt.Errorf("commit block %d: %w", height, err)
	}
	return nil
}

// badgerLogger routes badger's logs to slog at debug level (warnings and
// errors keep their level).
type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) Errorf(f string, a ...any) {
	l.log.Error(fmt.Sprintf(f, a...), "module", "badger")
}
func (l badgerLogger) Warningf(f string, a ...any) {
	l.log.Warn(fmt.Sprintf(f, a...), "module", "badger")
}
func (l badgerLogger) Infof(f string, a ...any) {
	l.log.Debug(fmt.Sprintf(f, a...), "module", "badger")
}
func (l badgerLogger) Debugf(f string, a ...any) {
	l.log.Debug(fmt.Sprintf(f, a...), "module", "badger")
}

func bytesToHeight(b []byte) uint64 { return binary.BigEndian.Uint64(b[:8]) }
