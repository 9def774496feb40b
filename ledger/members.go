package ledger

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/cohortnet/cohort/ledger/ledgerpb"
)

// memberIndex is an immutable lookup of members by name and by peer ID.
type memberIndex struct {
	byName map[string]*ledgerpb.Member
	byPeer map[string]string
	names  []string // sorted, for deterministic listing
}

func newMemberIndex() *memberIndex {
	return &memberIndex{byName: make(map[string]*ledgerpb.Member), byPeer: make(map[string]string)}
}

// add inserts m; callers add in name order so that names stays sorted.
func (idx *memberIndex) add(m *ledgerpb.Member) {
	idx.byName[m.Name] = m
	if m.PeerId != "" { // a member without a node has no peer to admit
		idx.byPeer[m.PeerId] = m.Name
	}
	idx.names = append(idx.names, m.Name)
}

func keyMember(name string) []byte { return append([]byte("mem/"), name...) }

var prefixMember = []byte("mem/")

func putMember(b *blockState, m *ledgerpb.Member) error {
	v, err := marshal(m)
	if err != nil {
		return err
	}
	b.set(keyMember(m.Name), v)
	return nil
}

// loadMembers reads every committed member (badger iterates in key order, so
// names come sorted).
func loadMembers(s *Store) (*memberIndex, error) {
	idx := newMemberIndex()
	err := s.scan(prefixMember, func(_, val []byte) error {
		var m ledgerpb.Member
		if err := proto.Unmarshal(val, &m); err != nil {
			return fmt.Errorf("corrupt member record: %w", err)
		}
		idx.add(&m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load members: %w", err)
	}
	return idx, nil
}
