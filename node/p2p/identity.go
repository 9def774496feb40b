package p2p

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// IdentityFile is where the node's libp2p key lives, relative to the node
// home, unless Config.KeyFile overrides it (the node's keys/p2p.key).
const IdentityFile = "keys/p2p.key"

// maxKeyFileBytes bounds the key file read: a protobuf-encoded ed25519 key is
// 68 bytes, anything much larger is not a key file.
const maxKeyFileBytes = 4 << 10

// IdentityPath returns where the identity of the node at home is stored.
func IdentityPath(home string) string { return filepath.Join(home, filepath.FromSlash(IdentityFile)) }

// LoadOrCreateIdentity loads the ed25519 libp2p key at path, or, if no file
// exists there, generates one and writes it with permissions 0600. The key is
// the node's peer ID for its whole life: losing it means re-registering the
// member on the ledger.
//
// A key file readable by group or others is refused rather than silently
// used, as ssh does: whoever can read it can impersonate the node.
func LoadOrCreateIdentity(path string) (crypto.PrivKey, error) {
	sk, err := loadIdentity(path)
	if err == nil {
		return sk, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	sk, _, err = crypto.GenerateEd25519Key(nil)
	if err != nil {
		return nil, fmt.Errorf("p2p: generate identity: %w", err)
	}
	raw, err := crypto.MarshalPrivateKey(sk)
	if err != nil {
		return nil, fmt.Errorf("p2p: encode identity: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("p2p: create identity directory: %w", err)
	}
	if err := writeNewFile(path, raw); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it between our read and write: use theirs,
			// never overwrite an identity.
			return loadIdentity(path)
		}
		return nil, err
	}
	return sk, nil
}

// writeNewFile writes data to a fresh file at path atomically: readers see
// either no file or the whole key, and an existing file is never replaced.
func writeNewFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("p2p: write identity: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op after a successful link
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("p2p: write identity: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("p2p: write identity: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("p2p: write identity: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("p2p: write identity: %w", err)
	}
	// link, unlike rename, fails if path exists.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("p2p: write identity: %w", err)
		}
		// Some filesystems have no hard links: fall back to an exclusive
		// create, which is equally unable to replace an existing identity.
		if err := writeExclusive(path, data); err != nil {
			return err
		}
	}
	// Make the new directory entry durable, so a crash right after first
	// start does not silently give the node a different identity next time.
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		_ = dir.Sync()
		dir.Close()
	}
	return nil
}

func writeExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("p2p: write identity: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("p2p: write identity: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("p2p: write identity: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("p2p: write identity: %w", err)
	}
	return nil
}

func loadIdentity(path string) (crypto.PrivKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("p2p: open identity: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("p2p: stat identity: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("p2p: identity %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("p2p: identity %s has permissions %#o; it must be readable by its owner only (chmod 600)", path, perm)
	}
	if st.Size() > maxKeyFileBytes {
		return nil, fmt.Errorf("p2p: identity %s is %d bytes, not a key file", path, st.Size())
	}
	raw := make([]byte, st.Size())
	if _, err := f.ReadAt(raw, 0); err != nil {
		return nil, fmt.Errorf("p2p: read identity: %w", err)
	}
	sk, err := crypto.UnmarshalPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("p2p: decode identity %s: %w", path, err)
	}
	if sk.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("p2p: identity %s is a %v key, want ed25519", path, sk.Type())
	}
	return sk, nil
}

// PeerIDFromIdentity returns the peer ID of the key stored at path, for
// `cohort init` and member registration, without starting a host.
func PeerIDFromIdentity(path string) (peer.ID, error) {
	sk, err := loadIdentity(path)
	if err != nil {
		return "", err
	}
	return peer.IDFromPrivateKey(sk)
}
