package zk

import (
	"context"
	"crypto/rand"
	"os"
	"sync"
	"testing"

	"github.com/consensys/gnark/logger"
)

// Dev keys are made once per test binary, in a temporary directory (tests
// never depend on files outside the repository).
var (
	testKeysOnce sync.Once
	testKeysDir  string
	testKeysErr  error
)

func TestMain(m *testing.M) {
	logger.Disable() // gnark logs every prove/verify
	code := m.Run()
	if testKeysDir != "" {
		os.RemoveAll(testKeysDir)
	}
	os.Exit(code)
}

func testKeys(t testing.TB, circuit string) *Keys {
	t.Helper()
	testKeysOnce.Do(func() {
		testKeysDir, testKeysErr = os.MkdirTemp("", "cohort-zk-test-keys")
	})
	if testKeysErr != nil {
		t.Fatal(testKeysErr)
	}
	if k, err := LoadKeys(testKeysDir, circuit); err == nil {
		return k
	}
	k, err := DevSetup(context.Background(), circuit)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Save(testKeysDir); err != nil {
		t.Fatal(err)
	}
	return k
}

func randFelt(t testing.TB) Felt {
	t.Helper()
	s, err := NewSalt(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return FeltOf(s)
}

// Sample witnesses.

// samplePolicy: fields (price, fee, quantity); price in [90, 110],
// fee ≤ 2.5 % of price (10000·fee − 250·price ≥ 0 flipped), quantity > 0.
func sampleCompliance(t testing.TB, price, fee, qty uint64) ComplianceWitness {
	return ComplianceWitness{
		Fields: []Uint64{Uint64(price), Uint64(fee), Uint64(qty)},
		Salt:   randFelt(t),
		Constraints: []LinearConstraint{
			{Coefficients: []Int64{1, 0, 0}, Constant: IntOf(-90)},      // price ≥ 90
			{Coefficients: []Int64{-1, 0, 0}, Constant: IntOf(110)},     // price ≤ 110
			{Coefficients: []Int64{250, -10000, 0}, Constant: IntOf(0)}, // fee ≤ 2.5 % price
			{Coefficients: []Int64{0, 0, 1}, Constant: IntOf(-1)},       // qty ≥ 1
		},
	}
}

func sampleInput(t testing.TB, v, lo, hi uint64) InputWitness {
	return InputWitness{Value: Uint64(v), Salt: randFelt(t), Lo: Uint64(lo), Hi: Uint64(hi)}
}

func sampleCompletion(t testing.TB, order, delivered, quality, threshold uint64) CompletionWitness {
	t.Helper()
	key, err := GenerateSigningKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w := CompletionWitness{
		TaskID:            randFelt(t),
		OrderQuantity:     Uint64(order),
		OrderSalt:         randFelt(t),
		DeliveredQuantity: Uint64(delivered),
		QualityBps:        Uint64(quality),
		DeliverySalt:      randFelt(t),
		ThresholdBps:      Uint64(threshold),
		CounterpartyKey:   key.PublicKey.Bytes(),
	}
	_, delivery := w.commitments()
	sig, err := SignDelivery(key, delivery)
	if err != nil {
		t.Fatal(err)
	}
	w.Signature = sig
	return w
}
