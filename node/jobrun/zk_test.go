package jobrun

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cohortnet/cohort/zk"
)

// TestBidCommitmentCarriesRangeProof: an auction bid's commitment is the zk
// input circuit's, and the prepared input yields a witness that proves the
// bid in [0, max_bid] against it.
func TestBidCommitmentCarriesRangeProof(t *testing.T) {
	spec, err := DecodeSpec([]byte(validSpec))
	if err != nil {
		t.Fatal(err)
	}
	in, err := PrepareInput(spec, "b", []byte(`{"bid":777}`), ProviderKeys{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := in.InputWitness()
	if err != nil {
		t.Fatal(err)
	}
	c := zk.InputCommitment(777, w.Salt.Fr())
	if cb := c.Bytes(); !bytes.Equal(cb[:], in.Commitment) {
		t.Fatal("bid commitment is not the input circuit's commitment")
	}
	if w.Lo != 0 || w.Hi != 1000 {
		t.Fatalf("range [%d, %d], want [0, 1000]", w.Lo, w.Hi)
	}
	if testing.Short() {
		t.Skip("proving skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	keys, err := zk.DevSetup(ctx, zk.CircuitInput)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Prove(ctx, *w); err != nil { // Prove verifies the fresh proof
		t.Fatalf("range proof of the bid: %v", err)
	}
}
