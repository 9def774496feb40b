package zk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// The ceremony tests use the input circuit (the smallest, domain 1024): a
// 3-contributor ceremony of the largest circuit takes tens of seconds (see
// the bench suite for ceremony timings).

func TestCeremonyThreeContributors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var log strings.Builder
	keys, err := RunLocalCeremony(ctx, dir, CircuitInput, 3, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if keys.Info.Setup != SetupCeremony || keys.Info.Transcript == nil ||
		len(keys.Info.Transcript.Phase1) != 3 || len(keys.Info.Transcript.Phase2) != 3 {
		t.Fatalf("unexpected key info: %+v", keys.Info)
	}
	keysDir := filepath.Join(dir, "keys")
	if err := keys.Save(keysDir); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadKeys(keysDir, CircuitInput)
	if err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry()
	if _, err := reg.RegisterDir(keysDir); err != nil {
		t.Fatal(err)
	}
	pf, err := loaded.Prove(ctx, sampleInput(t, 42, 0, 100))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.VerifyFile(pf); err != nil {
		t.Fatalf("ceremony proof rejected: %v", err)
	}
	// Dev keys of the same circuit do not verify ceremony proofs.
	dev := testKeys(t, CircuitInput)
	devID, _ := reg.Register(CircuitInput, dev.VKBytes)
	proof, _ := pf.ProofBytes()
	if err := reg.VerifyJSON(devID, pf.Public, proof); err == nil {
		t.Fatal("ceremony proof verified under dev keys")
	}
	// Anyone can re-verify the finished transcript.
	m, err := VerifyCeremony(ctx, dir, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if m.VKID != keys.Info.VKID {
		t.Fatalf("transcript vk %s, keys %s", m.VKID, keys.Info.VKID)
	}
}

// rehash updates a tampered file's hash in the manifest, so that only the
// cryptographic checks can catch the tampering.
func rehash(t *testing.T, dir string, phase1 bool, idx int, b []byte) {
	t.Helper()
	m, err := readManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs := m.Phase2
	if phase1 {
		recs = m.Phase1
	}
	if err := os.WriteFile(filepath.Join(dir, recs[idx].File), b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	recs[idx].SHA256 = hex.EncodeToString(sum[:])
	if err := writeManifest(dir, m); err != nil {
		t.Fatal(err)
	}
}

func TestCeremonyTamperedContributionDetected(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := InitCeremony(dir, CircuitInput); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"alice", "bob"} {
		if _, err := Contribute(ctx, dir, who, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := readManifest(dir)
	good, err := os.ReadFile(filepath.Join(dir, m.Phase1[1].File))
	if err != nil {
		t.Fatal(err)
	}

	// 1. Bob's file is altered on its way to carol: a [τ]₁ power replaced by
	// another valid point. Carol's verification must reject it.
	l, err := recordLayout(mpcsetup.NewPhase1(m.DomainSize), false)
	if err != nil {
		t.Fatal(err)
	}
	off, seg := 0, 0
	for ; seg < 13; seg++ { // 3 update proofs (6 points), N, [β]₂, then [τ¹..]₁
		off += l.segments[seg]
	}
	_, _, g1, _ := curve.Generators()
	gb := g1.Bytes()
	bad := append([]byte(nil), good...)
	copy(bad[off:], gb[:])
	rehash(t, dir, true, 1, bad)
	if _, err := Contribute(ctx, dir, "carol", io.Discard); err == nil {
		t.Fatal("tampered phase 1 contribution accepted")
	} else if !strings.Contains(err.Error(), "bob") {
		t.Fatalf("error does not name the bad contribution: %v", err)
	}
	if _, err := VerifyCeremony(ctx, dir, io.Discard); err == nil {
		t.Fatal("VerifyCeremony accepted a tampered transcript")
	}

	// 2. Garbage of the right size, and a truncated file, are rejected
	// before decoding.
	junk := make([]byte, len(good))
	rehash(t, dir, true, 1, junk)
	if _, err := Contribute(ctx, dir, "carol", io.Discard); err == nil {
		t.Fatal("junk contribution accepted")
	}
	rehash(t, dir, true, 1, good[:len(good)-1])
	if _, err := Contribute(ctx, dir, "carol", io.Discard); err == nil {
		t.Fatal("truncated contribution accepted")
	}

	// 3. Restored, the ceremony proceeds; then a phase-2 contribution that
	// skips its predecessor (built on the initial state) is rejected.
	rehash(t, dir, true, 1, good)
	if _, err := Contribute(ctx, dir, "carol", io.Discard); err != nil {
		t.Fatal(err)
	}
	beacon, _ := NewBeacon()
	if err := ClosePhase1(ctx, dir, beacon, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := Contribute(ctx, dir, "alice", io.Discard); err != nil {
		t.Fatal(err)
	}
	m, _ = readManifest(dir)
	first, err := os.ReadFile(filepath.Join(dir, m.Phase2[0].File))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Contribute(ctx, dir, "bob", io.Discard); err != nil {
		t.Fatal(err)
	}
	// Replace bob's contribution by a second copy of alice's (it does not
	// extend alice's): the chain check must fail.
	rehash(t, dir, false, 1, first)
	if _, err := FinalizeCeremony(ctx, dir, beacon, io.Discard); err == nil {
		t.Fatal("phase 2 contribution that skips its predecessor accepted")
	}
}

// A forged phase-2 starting state (not derived from the sealed phase 1) is
// caught when the ceremony is finalized or verified.
func TestCeremonyForgedPhase2Start(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := InitCeremony(dir, CircuitInput); err != nil {
		t.Fatal(err)
	}
	if _, err := Contribute(ctx, dir, "alice", io.Discard); err != nil {
		t.Fatal(err)
	}
	beacon, _ := NewBeacon()
	if err := ClosePhase1(ctx, dir, beacon, io.Discard); err != nil {
		t.Fatal(err)
	}
	// The coordinator substitutes a start state derived from other
	// parameters (a fresh, unsealed phase 1), with a matching hash.
	m, _ := readManifest(dir)
	ccs, err := ceremonyCircuit(m)
	if err != nil {
		t.Fatal(err)
	}
	other := mpcsetup.NewPhase1(m.DomainSize).Seal([]byte("attacker"))
	var p2 mpcsetup.Phase2
	p2.Initialize(ccs, &other)
	var buf strings.Builder
	if _, err := p2.WriteTo(&stringWriter{&buf}); err != nil {
		t.Fatal(err)
	}
	forged := []byte(buf.String())
	if err := os.WriteFile(filepath.Join(dir, ceremonyPhase2Init), forged, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(forged)
	m.Phase2InitSHA256 = hex.EncodeToString(sum[:])
	if err := writeManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	if _, err := Contribute(ctx, dir, "bob", io.Discard); err != nil {
		t.Fatal(err) // bob cannot tell; finalize and verify can
	}
	if _, err := VerifyCeremony(ctx, dir, io.Discard); err == nil || !strings.Contains(err.Error(), "phase2-0000") {
		t.Fatalf("forged phase-2 start passed VerifyCeremony: %v", err)
	}
	if _, err := FinalizeCeremony(ctx, dir, beacon, io.Discard); err == nil || !strings.Contains(err.Error(), "phase2-0000") {
		t.Fatalf("forged phase-2 start passed FinalizeCeremony: %v", err)
	}
}

type stringWriter struct{ b *strings.Builder }

func (w *stringWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

func TestCeremonyLock(t *testing.T) {
	dir := t.TempDir()
	if _, err := InitCeremony(dir, CircuitInput); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockCeremony(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Contribute(context.Background(), dir, "alice", io.Discard); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("contribution while locked: %v", err)
	}
	var uerr error
	unlock(&uerr)
	if uerr != nil {
		t.Fatal(uerr)
	}
	if _, err := Contribute(context.Background(), dir, "alice", io.Discard); err != nil {
		t.Fatal(err)
	}
}
