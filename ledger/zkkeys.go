package ledger

import (
	"encoding/json"
	"fmt"

	"github.com/cohortnet/cohort/zk"
)

// maxVerifyingKeyBytes bounds a registered verifying key; the circuits'
// keys are a few kilobytes.
const maxVerifyingKeyBytes = 64 << 10

func keyVerifyingKey(id string) []byte { return append([]byte("vk/"), id...) }

var prefixVerifyingKey = []byte("vk/")

// storedKey is a verifying key as kept in state.
type storedKey struct {
	Circuit string `json:"circuit"`
	Key     []byte `json:"key"`
}

// registerKeys validates genesis keys and writes them to state. Two keys with
// the same ID are one key.
func registerKeys(b *blockState, reg *zk.Registry, keys []GenesisKey) error {
	for i, k := range keys {
		id, err := reg.Register(k.Circuit, k.Key)
		if err != nil {
			return fmt.Errorf("genesis verifying key %d (%s): %w", i, k.Circuit, err)
		}
		raw, err := json.Marshal(storedKey(k))
		if err != nil {
			return err
		}
		b.set(keyVerifyingKey(id), raw)
	}
	return nil
}

// loadKeys rebuilds the registry from committed state.
func loadKeys(s *Store) (*zk.Registry, error) {
	reg := zk.NewRegistry()
	err := s.scan(prefixVerifyingKey, func(key, val []byte) error {
		var k storedKey
		if err := json.Unmarshal(val, &k); err != nil {
			return fmt.Errorf("corrupt verifying key %s: %w", key, err)
		}
		id, err := reg.Register(k.Circuit, k.Key)
		if err != nil {
			return fmt.Errorf("verifying key %s: %w", key, err)
		}
		if string(key[len(prefixVerifyingKey):]) != id {
			return fmt.Errorf("verifying key stored under %s has ID %s", key, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load verifying keys: %w", err)
	}
	return reg, nil
}
