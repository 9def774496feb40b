package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/logger"

	"github.com/cohortnet/cohort/zk"
)

// zkBenchKeysDir caches dev keys between bench runs (they are re-made when
// the circuits change: zk.LoadKeys checks the constraint-system digest).
func zkBenchKeysDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "cohort", "zk-bench-dev-keys")
}

// runZKSuite measures the three circuits at their production size (BN254
// Groth16, dev keys — a ceremony yields keys of identical size and speed),
// the range-check alternative for compliance, and a 3-contributor ceremony.
func runZKSuite(ctx context.Context, progress io.Writer) (Results, error) {
	logger.Disable() // gnark logs every prove and verify
	res := Results{}
	keysDir := zkBenchKeysDir()
	fmt.Fprintf(progress, "zk: keys cached in %s\n", keysDir)

	witnesses, err := zkBenchWitnesses()
	if err != nil {
		return nil, err
	}
	for _, c := range zk.CircuitNames() {
		keys, err := zkBenchKeys(ctx, keysDir, c, progress)
		if err != nil {
			return nil, err
		}
		if err := zkMeasure(ctx, res, c, keys, witnesses[c], progress); err != nil {
			return nil, err
		}
	}
	// Verifications per second per core: compliance proofs per CPU-second of
	// a single-threaded verifier (the wall-clock figure with GOMAXPROCS=1 is
	// zk.compliance_verify_per_s; they agree on an idle machine, while the
	// CPU figure is unaffected by other processes sharing the cores).
	res["zk.verify_per_s"] = res["zk.compliance_verify_per_cpu_s"]

	// The alternative for compliance: std/rangecheck's lookup argument
	// (fewer constraints, one Pedersen commitment in the proof).
	fmt.Fprintln(progress, "zk: compliance with std/rangecheck (lookup) range checks, for comparison")
	lk, err := zk.DevSetupWithRangeMode(ctx, zk.CircuitCompliance, zk.RangeLookup)
	if err != nil {
		return nil, err
	}
	if err := zkMeasure(ctx, res, "compliance_lookup", lk, witnesses[zk.CircuitCompliance], progress); err != nil {
		return nil, err
	}

	// Poseidon2 commitment, natively (what provers and the MPC compute).
	var fields [3]fr.Element
	for i := range fields {
		fields[i].SetRandom()
	}
	salt, err := zk.NewSalt(rand.Reader)
	if err != nil {
		return nil, err
	}
	const commits = 20000
	start := time.Now()
	for i := 0; i < commits; i++ {
		fields[0] = zk.Commit(salt, fields[:]...)
	}
	res["zk.commit3_native_us"] = float64(time.Since(start).Microseconds()) / commits

	// Setup ceremony, 3 contributors per phase, smallest and compliance.
	for _, c := range []string{zk.CircuitInput, zk.CircuitCompliance} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp("", "cohort-bench-ceremony")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "zk: %s ceremony, 3 contributors per phase\n", c)
		start := time.Now()
		_, err = zk.RunLocalCeremony(ctx, dir, c, 3, io.Discard)
		os.RemoveAll(dir)
		if err != nil {
			return nil, fmt.Errorf("ceremony %s: %w", c, err)
		}
		res["zk.ceremony3_"+c+"_s"] = time.Since(start).Seconds()
	}
	return res, nil
}

func zkBenchKeys(ctx context.Context, dir, circuit string, progress io.Writer) (*zk.Keys, error) {
	keys, err := zk.LoadKeys(dir, circuit)
	if err == nil {
		return keys, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(progress, "zk: cached %s keys unusable (%v), making new ones\n", circuit, err)
	}
	fmt.Fprintf(progress, "zk: dev setup %s\n", circuit)
	keys, err = zk.DevSetup(ctx, circuit)
	if err != nil {
		return nil, err
	}
	if err := keys.Save(dir); err != nil {
		return nil, err
	}
	return keys, nil
}

func zkBenchWitnesses() (map[string]zk.Witness, error) {
	salt := func() zk.Felt {
		s, err := zk.NewSalt(rand.Reader)
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		return zk.FeltOf(s)
	}
	// Compliance at full size: 8 fields, 8 constraints.
	cw := zk.ComplianceWitness{Salt: salt()}
	for j := 0; j < zk.MaxPolicyFields; j++ {
		cw.Fields = append(cw.Fields, zk.Uint64(1000+j))
	}
	for i := 0; i < zk.MaxPolicyConstraints; i++ {
		lc := zk.LinearConstraint{Constant: zk.IntOf(int64(i) * 7)}
		for j := 0; j < zk.MaxPolicyFields; j++ {
			lc.Coefficients = append(lc.Coefficients, zk.Int64((i+j)%5-1))
		}
		cw.Constraints = append(cw.Constraints, lc)
	}
	task, orderSalt, ds := salt(), salt(), salt()
	key, err := zk.GenerateSigningKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	sig, err := zk.SignDelivery(key, zk.DeliveryCommitment(task.Fr(), 990, 9800, ds.Fr()))
	if err != nil {
		return nil, err
	}
	return map[string]zk.Witness{
		zk.CircuitCompliance: cw,
		zk.CircuitInput:      zk.InputWitness{Value: 4200, Salt: salt(), Lo: 1000, Hi: 10000},
		zk.CircuitCompletion: zk.CompletionWitness{
			TaskID: task, OrderQuantity: 1000, OrderSalt: orderSalt, DeliveredQuantity: 990, QualityBps: 9800,
			DeliverySalt: ds, ThresholdBps: 9500, CounterpartyKey: key.PublicKey.Bytes(), Signature: sig,
		},
	}, nil
}

// zkMeasure records <name>_constraints, _prove_ms (median of Keys.Prove:
// native check, witness, solve, Groth16 prove and the prover's own verify),
// _verify_ms (median of one Registry.Verify with decoding), _proof_bytes,
// _verify_per_s (sequential verifications per wall second with GOMAXPROCS=1)
// and _verify_per_cpu_s (the same per CPU second: what one core sustains,
// whatever else runs on the machine).
func zkMeasure(ctx context.Context, res Results, name string, keys *zk.Keys, w zk.Witness, progress io.Writer) error {
	reg := zk.NewRegistry()
	id, err := reg.Register(keys.Info.Circuit, keys.VKBytes)
	if err != nil {
		return err
	}
	const proveReps = 10
	var proveTimes []float64
	var pf *zk.ProofFile
	cpuStart := processCPU()
	for i := 0; i < proveReps; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		pf, err = keys.Prove(ctx, w)
		if err != nil {
			return fmt.Errorf("prove %s: %w", name, err)
		}
		proveTimes = append(proveTimes, zkMillis(time.Since(start)))
	}
	// CPU time per proof (all cores): a load-independent figure; on an idle
	// 2-core machine prove_ms is roughly half of it.
	res["zk."+name+"_prove_cpu_ms"] = zkMillis(processCPU()-cpuStart) / proveReps
	proof, err := pf.ProofBytes()
	if err != nil {
		return err
	}
	st, err := zk.ParseStatement(keys.Info.Circuit, pf.Public)
	if err != nil {
		return err
	}
	public, err := zk.PublicVector(st)
	if err != nil {
		return err
	}
	const verifyReps = 200
	var verifyTimes []float64
	for i := 0; i < verifyReps; i++ {
		start := time.Now()
		if err := reg.Verify(id, public, proof); err != nil {
			return fmt.Errorf("verify %s: %w", name, err)
		}
		verifyTimes = append(verifyTimes, zkMillis(time.Since(start)))
	}
	prev := runtime.GOMAXPROCS(1)
	n, start, cpu0 := 0, time.Now(), processCPU()
	for time.Since(start) < 2*time.Second {
		if err := reg.Verify(id, public, proof); err != nil {
			runtime.GOMAXPROCS(prev)
			return err
		}
		n++
	}
	perSec := float64(n) / time.Since(start).Seconds()
	cpu := processCPU() - cpu0
	runtime.GOMAXPROCS(prev)
	if cpu > 0 {
		// Per CPU-second: unaffected by other processes sharing the cores.
		res["zk."+name+"_verify_per_cpu_s"] = float64(n) / cpu.Seconds()
	}

	p := "zk." + name + "_"
	res[p+"constraints"] = float64(keys.CCS.GetNbConstraints())
	res[p+"prove_ms"] = zkMedian(proveTimes)
	res[p+"verify_ms"] = zkMedian(verifyTimes)
	res[p+"proof_bytes"] = float64(len(proof))
	res[p+"verify_per_s"] = perSec
	res[p+"public_inputs"] = float64(len(public))
	fmt.Fprintf(progress, "zk: %-17s constraints=%-5d prove=%.1fms verify=%.2fms proof=%dB verify/s/core=%.0f\n",
		name, keys.CCS.GetNbConstraints(), res[p+"prove_ms"], res[p+"verify_ms"], len(proof), perSec)
	return nil
}

func zkMillis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func zkMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
