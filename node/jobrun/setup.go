package jobrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/mpc/transport"
)

// Store persists a member's committee secrets (HE threshold key share, BLS
// key share). The node plugs its badger store in; he.MemoryStore and
// he.FileStore satisfy it too. Values are secret: keep them private to the
// node. Get returns an error wrapping he.ErrNotFound for a missing key.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
}

var _ Store = he.KeyStore(nil)

// CommitteeConfig describes one committee's one-time setup.
type CommitteeConfig struct {
	// CommitteeID names the committee (e.g. its ledger ID); all members use
	// the same value. It seeds the HE common reference string and names the
	// stored keys.
	CommitteeID string
	// Preset is the HE parameter set (he.SecurePreset in production).
	Preset *he.Preset
	// Threshold t: any t members decrypt (HE) and sign (BLS).
	Threshold int
	// LongTerm is this member's long-term DKG key; Members are every
	// member's public halves in committee order (from the ledger).
	LongTerm *committee.LongTermKey
	Members  []committee.LongTermPublicKey
	// StepTimeout bounds each wait for a peer (default 2 min).
	StepTimeout time.Duration
	// MemberIDs name the members in errors (default "member-<index>").
	MemberIDs []string
	// Progress, if set, receives one line per setup phase (no secrets).
	Progress io.Writer
}

// CommitteeKeys is one member's committee state, reused by every job of the
// committee.
type CommitteeKeys struct {
	HE  *he.Member
	BLS *committee.Share
}

// dkgFirstRound keeps the DKG's rounds clear of he.Setup's on the shared
// setup connection (he uses rounds below 2^17).
const dkgFirstRound transport.Round = 1 << 40

func blsStoreKey(committeeID string, self int) string {
	return fmt.Sprintf("jobrun-bls-%x-%d", committeeID, self)
}

// SetupCommittee runs, as member conn.Self() of the committee, the HE key
// generation (mpc/he Setup: collective public key, relinearisation and
// Galois keys, t-of-N threshold shares) and then the BLS DKG (mpc/committee
// RunDKG), and persists both in store. Every member must be online for the
// whole setup; a member that does not answer or misbehaves fails it with a
// *FaultError naming it (FaultMemberDropped), and the committee re-runs the
// setup without it. conn must be a fresh connection of the committee alone.
//
// A committee whose threshold is above ⌈n/2⌉ gets no HE keys (HE stays nil;
// jobspec.HESetupChecked): its setup could not check the members' key
// shares (mpc/he, security model), so it may run no HE job
// (jobspec.CheckHECommittee) and no unchecked collective key is ever made.
// Its SS jobs need only the BLS share.
func SetupCommittee(ctx context.Context, conn transport.Conn, cfg CommitteeConfig, store Store) (*CommitteeKeys, error) {
	if cfg.Preset == nil || cfg.LongTerm == nil || store == nil {
		return nil, errors.New("jobrun: setup needs a preset, a long-term key and a store")
	}
	if len(cfg.Members) != conn.Parties() {
		return nil, fmt.Errorf("jobrun: setup: %d long-term keys for %d members", len(cfg.Members), conn.Parties())
	}
	blame := &Spec{ID: "setup-" + cfg.CommitteeID, Committee: make([]string, conn.Parties())}
	for i := range blame.Committee {
		blame.Committee[i] = fmt.Sprintf("member-%d", i)
		if len(cfg.MemberIDs) == conn.Parties() {
			blame.Committee[i] = cfg.MemberIDs[i]
		}
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	var member *he.Member
	if n := conn.Parties(); jobspec.HESetupChecked(n, cfg.Threshold) {
		fmt.Fprintf(progress, "committee %s: HE key generation (preset %s, %d-of-%d)\n", cfg.CommitteeID, cfg.Preset.Name, cfg.Threshold, n)
		var stats he.SetupStats
		var err error
		member, stats, err = he.Setup(ctx, conn, cfg.Preset, he.SetupConfig{
			CommitteeID:    cfg.CommitteeID,
			Threshold:      cfg.Threshold,
			GaloisElements: jobs.HEGaloisElements(cfg.Preset),
			StepTimeout:    cfg.StepTimeout,
		}, store)
		if err != nil {
			return nil, memberFault(blame, fmt.Errorf("HE key setup: %w", err))
		}
		if !member.SharesChecked() { // he.ShareCheckRuns and jobspec.HESetupChecked agree (he's tests)
			return nil, fmt.Errorf("jobrun: committee %s: the HE setup of a %d-of-%d committee did not check the key shares", cfg.CommitteeID, cfg.Threshold, n)
		}
		fmt.Fprintf(progress, "committee %s: HE keys done in %v (%d bytes sent), shares checked (honest majority: up to %d of %d malicious); BLS DKG\n",
			cfg.CommitteeID, stats.Duration.Round(time.Millisecond), stats.BytesSent, (n-1)/2, n)
	} else {
		fmt.Fprintf(progress, "committee %s: no HE keys: threshold %d > ⌈%d/2⌉ = %d, whose HE setup could not check the members' key shares; the committee runs SS jobs only. BLS DKG\n",
			cfg.CommitteeID, cfg.Threshold, n, jobspec.MaxHEThreshold(n))
	}
	share, err := committee.RunDKG(ctx, conn, cfg.LongTerm, cfg.Members, committee.DKGConfig{
		Threshold:    cfg.Threshold,
		RoundTimeout: cfg.StepTimeout,
		FirstRound:   dkgFirstRound,
	})
	if err != nil {
		return nil, memberFault(blame, fmt.Errorf("BLS DKG: %w", err))
	}
	b, err := share.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("jobrun: encode BLS share: %w", err)
	}
	if err := store.Put(ctx, blsStoreKey(cfg.CommitteeID, int(conn.Self())), b); err != nil {
		return nil, fmt.Errorf("jobrun: persist BLS share: %w", err)
	}
	fmt.Fprintf(progress, "committee %s: BLS DKG done; keys persisted\n", cfg.CommitteeID)
	return &CommitteeKeys{HE: member, BLS: share}, nil
}

// LoadCommittee restores member self's committee state saved by
// SetupCommittee: HE stays nil for a committee that has no HE keys (its
// threshold, read from the BLS share, is above ⌈n/2⌉).
func LoadCommittee(ctx context.Context, store Store, preset *he.Preset, committeeID string, self int) (*CommitteeKeys, error) {
	keys, err := LoadCommitteeSS(ctx, store, committeeID, self)
	if err != nil {
		return nil, err
	}
	if !jobspec.HESetupChecked(keys.BLS.Key.N, keys.BLS.Key.T) {
		return keys, nil
	}
	member, err := he.LoadMember(ctx, store, preset, committeeID, transport.PartyID(self))
	if err != nil {
		return nil, err
	}
	keys.HE = member
	return keys, nil
}

// LoadCommitteeSS loads only what a secret-sharing job needs of a member's
// committee keys, the BLS share (HE stays nil): loading the HE key share
// derives the member's key material, CPU an SS job would spend on its
// critical path for nothing.
func LoadCommitteeSS(ctx context.Context, store Store, committeeID string, self int) (*CommitteeKeys, error) {
	b, err := store.Get(ctx, blsStoreKey(committeeID, self))
	if err != nil {
		return nil, fmt.Errorf("jobrun: load BLS share: %w", err)
	}
	share, err := committee.ParseShare(b)
	if err != nil {
		return nil, fmt.Errorf("jobrun: load BLS share: %w", err)
	}
	if share.Index != self {
		return nil, fmt.Errorf("jobrun: stored BLS share is member %d's, not %d's", share.Index, self)
	}
	return &CommitteeKeys{BLS: share}, nil
}

// CommitteeRecord is the public part of a committee's setup, what the node
// publishes: the BLS committee key (the ledger verifies result signatures
// with it) and the HE collective public key that providers encrypt under
// (canonical encoding, he.Preset.MarshalPublicKey; large, so the ledger keeps its
// hash and the blob store the bytes). A committee without HE keys
// (threshold above ⌈n/2⌉) has no HEPublicKey and a zero HEKeyDigest.
type CommitteeRecord struct {
	Key         *committee.CommitteeKey
	HEPublicKey []byte
	HEKeyDigest [32]byte
}

// Record returns the committee's public record.
func (k *CommitteeKeys) Record() (*CommitteeRecord, error) {
	if k.HE == nil {
		return &CommitteeRecord{Key: k.BLS.Key}, nil
	}
	pk, err := k.HE.Preset().MarshalPublicKey(k.HE.PublicKey())
	if err != nil {
		return nil, err
	}
	return &CommitteeRecord{Key: k.BLS.Key, HEPublicKey: pk, HEKeyDigest: k.HE.KeyDigest()}, nil
}
