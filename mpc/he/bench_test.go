package he

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tuneinsight/lattigo/v5/core/rlwe"

	"github.com/cohortnet/cohort/mpc/mpctest"
	"github.com/cohortnet/cohort/mpc/transport"
)

// BenchmarkOutputPhase times a job's output phase (evaluation is an
// identity circuit) on the test preset with t = 3: a committee of 3 (one
// key-switching subset, as every job was before the multi-subset check) and
// a committee of 4 all online (the covering family: 4 subsets, each member
// in 3), for a credit-like output (one CKKS ciphertext at level 0) and an
// aggregate-like one (three BGV ciphertexts at the top level). The
// recipient's checked decryption is included.
//
//	go test ./mpc/he -run - -bench OutputPhase -benchtime 5x
func BenchmarkOutputPhase(b *testing.B) {
	preset := insecurePreset(b)
	committees := map[int][]*Member{}
	for _, n := range []int{3, 4} {
		committees[n], _ = committee(b, preset, n, 3, nil)
	}
	ckks, _, err := preset.EncryptFloatsAtScale(committees[3][0].PublicKey(), []float64{0.5}, preset.OutputScale())
	if err != nil {
		b.Fatal(err)
	}
	ckks4, _, err := preset.EncryptFloatsAtScale(committees[4][0].PublicKey(), []float64{0.5}, preset.OutputScale())
	if err != nil {
		b.Fatal(err)
	}
	bgv, _, err := preset.EncryptInts(committees[3][0].PublicKey(), []int64{7})
	if err != nil {
		b.Fatal(err)
	}
	bgv4, _, err := preset.EncryptInts(committees[4][0].PublicKey(), []int64{7})
	if err != nil {
		b.Fatal(err)
	}
	for _, job := range []struct {
		name   string
		scheme Scheme
		inputs map[int][]byte
		outs   int
	}{
		{"credit-like", CKKS, map[int][]byte{3: ckks, 4: ckks4}, 1},
		{"aggregate-like", BGV, map[int][]byte{3: bgv, 4: bgv4}, 3},
	} {
		for _, n := range []int{3, 4} {
			b.Run(fmt.Sprintf("%s/n=%d-t=3", job.name, n), func(b *testing.B) {
				members := committees[n]
				rcpt := NewRecipient(preset)
				circuit := func(*Member) Circuit {
					return func(context.Context) ([]*rlwe.Ciphertext, error) {
						var cts []*rlwe.Ciphertext
						for i := 0; i < job.outs; i++ {
							ct, _, err := preset.UnmarshalCiphertext(job.scheme, job.inputs[n])
							if err != nil {
								return nil, err
							}
							if job.scheme == CKKS {
								// Credit results are at level 0.
								ct.Resize(1, 0)
							}
							cts = append(cts, ct)
						}
						return cts, nil
					}
				}
				online := make([]int, n)
				for i := range online {
					online[i] = i
				}
				cfg := RunConfig{Scheme: job.scheme, Recipient: rcpt.PublicKey(), StepTimeout: time.Minute}
				for i := 0; i < b.N; i++ {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					res, errs := runAll(ctx, members, online, cfg, circuit, nil)
					cancel()
					for _, err := range errs {
						if err != nil {
							b.Fatal(err)
						}
					}
					if job.scheme == CKKS {
						_, err = rcpt.DecryptFloatsChecked(res[0], 3, 4)
					} else {
						_, err = rcpt.DecryptIntsChecked(res[0], 3, 4)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSetupSecure times a whole committee setup (4 members, t = 2 so
// that the share check runs — ShareCheckRuns — in one process) at the secure preset with the Galois elements the job
// circuits use (jobs.HEGaloisElements: the inner-sum rotations of a BGV
// row), share checks included, as node/jobrun and the demo run it.
//
//	go test ./mpc/he -run '^$' -bench SetupSecure -benchtime 1x
func BenchmarkSetupSecure(b *testing.B) {
	preset, err := SecurePreset()
	if err != nil {
		b.Fatal(err)
	}
	var galEls []uint64
	for _, g := range preset.BGV.GaloisElementsForInnerSum(1, preset.BGV.MaxSlots()/2) {
		if g != 1 {
			galEls = append(galEls, g)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mpctest.MustRun(b, 4, func(ctx context.Context, conn transport.Conn) (*Member, error) {
			m, _, err := Setup(ctx, conn, preset, SetupConfig{CommitteeID: "bench-secure", Threshold: 2, GaloisElements: galEls}, NewMemoryStore())
			return m, err
		}, mpctest.Timeout(30*time.Minute))
	}
	b.ReportMetric(float64(len(galEls)), "galois-keys")
}

// BenchmarkSetupUnchecked times the setup bench/suite_he.go compares with
// raw lattigo (he.setup_overhead): 4 members at the secure preset with
// t = 3, so no share check runs, and the same Galois elements. Profile it
// with -cpuprofile / -memprofile to see where ours spends beyond lattigo.
//
//	go test ./mpc/he -run '^$' -bench SetupUnchecked -benchtime 1x
func BenchmarkSetupUnchecked(b *testing.B) {
	preset, err := SecurePreset()
	if err != nil {
		b.Fatal(err)
	}
	var galEls []uint64
	for _, g := range preset.BGV.GaloisElementsForInnerSum(1, preset.BGV.MaxSlots()/2) {
		if g != 1 {
			galEls = append(galEls, g)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		mpctest.MustRun(b, 4, func(ctx context.Context, conn transport.Conn) (*Member, error) {
			m, _, err := Setup(ctx, conn, preset, SetupConfig{CommitteeID: "bench-unchecked", Threshold: 3, GaloisElements: galEls}, NewMemoryStore())
			return m, err
		}, mpctest.Timeout(30*time.Minute))
	}
	b.ReportMetric(float64(len(galEls)), "galois-keys")
}
