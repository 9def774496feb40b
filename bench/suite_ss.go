package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/jobs"
	"github.com/cohortnet/cohort/mpc/ss"
	"github.com/cohortnet/cohort/mpc/transport"
)

// ssParties is the committee size of every figure of the suite.
const ssParties = 3

// ssTrials is how many times each figure is measured (the median is kept).
const ssTrials = 3

func medianDuration(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// medianCost is the median wall time and, taken on its own, the median CPU
// time of cs (the two may come from different trials).
func medianCost(cs []cost) cost {
	walls, cpus := make([]time.Duration, len(cs)), make([]time.Duration, len(cs))
	for i, c := range cs {
		walls[i], cpus[i] = c.wall, c.cpu
	}
	return cost{wall: medianDuration(walls), cpu: medianDuration(cpus)}
}

// ssRate records n operations in c under key "X_per_s" (per wall second)
// and its CPU twin "X_per_cpu_s" (per second of process CPU time), the
// twin left out where the platform does not measure CPU.
func ssRate(res Results, key string, n float64, c cost) {
	res[key] = n / c.wall.Seconds()
	if c.cpu > 0 {
		res[strings.TrimSuffix(key, "_per_s")+"_per_cpu_s"] = n / c.cpu.Seconds()
	}
}

// ssSeconds records c under key "X_s" (wall seconds) and its CPU twin
// "X_cpu_s" (process CPU seconds), the twin left out where the platform does
// not measure CPU.
func ssSeconds(res Results, key string, c cost) {
	res[key] = c.wall.Seconds()
	if c.cpu > 0 {
		res[strings.TrimSuffix(key, "_s")+"_cpu_s"] = c.cpu.Seconds()
	}
}

// ssCommittee opens party i's connection of a job.
type ssCommittee interface {
	open(ctx context.Context, job string, i int) (transport.Conn, error)
	name() string
}

type memCommittee struct{ nw *transport.MemoryNetwork }

func (m memCommittee) open(ctx context.Context, job string, i int) (transport.Conn, error) {
	return m.nw.Open(ctx, job, transport.PartyID(i), ssParties)
}
func (memCommittee) name() string { return "in-memory" }

// runSSSuite measures the Shamir engine and its jobs with 3 parties in this
// process (each party its own goroutines; the machine's 2 cores are shared).
// The headline figures ("ss.*") run over libp2p on loopback (TCP, TLS 1.3,
// yamux: the node's configuration); the same figures over the in-memory
// network follow as "ss.inmem.*", to separate engine cost from transport
// cost. COHORT_SS_BENCH_TRANSPORT=memory runs the in-memory figures only.
//
// Every timed figure has a CPU twin, measured over the same interval (see
// measure): the process CPU time (getrusage, user + system), which covers
// all 3 parties of this process together, plus libp2p (TLS, yamux, loopback
// TCP) or the in-memory network, and the Go runtime. The shared machine's
// load changes wall figures up to 3× and CPU figures far less, so compare
// CPU twins in an A/B. Rate keys "X_per_s" (operations per wall second)
// have "X_per_cpu_s" (operations per process CPU second: what the 3 parties
// together cost); duration keys "X_s" have "X_cpu_s" (process CPU seconds);
// ss.mal_overhead_{vickrey,clearing}_cpu are the malicious/semi-honest
// ratios on CPU. Each CPU twin is the median of its trials' CPU, taken on
// its own. For the primitives (mul, cmp64, eq64) the interval is the one
// party 0 times, while the other two run in step with it.
func runSSSuite(ctx context.Context, progress io.Writer) (Results, error) {
	res := Results{"ss.parties": ssParties}
	if la, err := loadAverage(); err == nil {
		res["ss.load_avg_1m_at_start"] = la
	}
	memOnly := os.Getenv("COHORT_SS_BENCH_TRANSPORT") == "memory"
	if !memOnly {
		com, cleanup, err := ssP2PCommittee()
		if err != nil {
			return nil, err
		}
		err = ssFigures(ctx, progress, com, "ss.", ss.SemiHonest, res)
		if err == nil {
			err = ssFigures(ctx, progress, com, "ss.mal.", ss.Malicious, res)
		}
		cleanup()
		if err != nil {
			return nil, err
		}
		res["ss.transport_libp2p"] = 1
	} else {
		res["ss.transport_libp2p"] = 0
	}
	prefix := "ss.inmem."
	if memOnly {
		prefix = "ss."
	}
	mem := memCommittee{nw: transport.NewMemoryNetwork()}
	if err := ssFigures(ctx, progress, mem, prefix, ss.SemiHonest, res); err != nil {
		return nil, err
	}
	if memOnly {
		if err := ssFigures(ctx, progress, mem, "ss.mal.", ss.Malicious, res); err != nil {
			return nil, err
		}
	}
	// The price of malicious security on the headline job (same transport,
	// same run).
	if semi, mal := res["ss.vickrey_1024_s"], res["ss.mal.vickrey_1024_s"]; semi > 0 && mal > 0 {
		res["ss.mal_overhead_vickrey"] = mal / semi
	}
	if semi, mal := res["ss.clearing_4000x100_s"], res["ss.mal.clearing_4000x100_s"]; semi > 0 && mal > 0 {
		res["ss.mal_overhead_clearing"] = mal / semi
	}
	// The same ratios on CPU time: steadier than the wall ratios on a loaded
	// machine.
	if semi, mal := res["ss.vickrey_1024_cpu_s"], res["ss.mal.vickrey_1024_cpu_s"]; semi > 0 && mal > 0 {
		res["ss.mal_overhead_vickrey_cpu"] = mal / semi
	}
	if semi, mal := res["ss.clearing_4000x100_cpu_s"], res["ss.mal.clearing_4000x100_cpu_s"]; semi > 0 && mal > 0 {
		res["ss.mal_overhead_clearing_cpu"] = mal / semi
	}
	return res, nil
}

// loadAverage reads the 1-minute load average (the machine is shared; the
// figures depend on it).
func loadAverage() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	var la float64
	_, err = fmt.Sscan(string(b), &la)
	return la, err
}

// ssFigures measures every figure of the suite over com, under prefix, with
// the engine in mode sec. The malicious mode measures the headline figures
// only (multiplications, comparisons, Vickrey, clearing), each including the
// MAC check of its products; its input-authentication round is done before
// the clock starts for the primitives and inside it for the jobs.
func ssFigures(ctx context.Context, progress io.Writer, com ssCommittee, prefix string, sec ss.Security, out Results) error {
	mal := sec == ss.Malicious
	res := Results{}
	defer func() {
		for k, v := range res {
			out[prefix+strings.TrimPrefix(k, "ss.")] = v
		}
	}()
	fmt.Fprintf(progress, "ss: 3 parties over the %s transport, %s mode\n", com.name(), sec)
	jobN := 0
	runOnce := func(fn func(ctx context.Context, p *ss.Party) error) (cost, error) {
		jobN++
		return runSSJob(ctx, com, fmt.Sprintf("bench-ss-%d-%d", time.Now().UnixNano(), jobN), sec, fn)
	}
	// timed collects the cost of the part of a job party 0 times: its wall
	// time, and the process CPU time meanwhile (all 3 parties: they run in
	// step, each waiting for the others' messages).
	var timedMu sync.Mutex
	var timed []cost
	record := func(p *ss.Party, c cost) {
		if p.Self() == 0 {
			timedMu.Lock()
			timed = append(timed, c)
			timedMu.Unlock()
		}
	}
	// auth returns public test vectors as shares of the party's mode (every
	// share equal: a consistent sharing of degree 0).
	auth := func(ctx context.Context, p *ss.Party, vs ...fr.Vector) ([]ss.Vec, error) {
		return p.AuthenticateDealt(ctx, vs)
	}
	// The machine is shared: every figure is the median of ssTrials jobs.
	run := func(fn func(ctx context.Context, p *ss.Party) error) (cost, error) {
		var cs []cost
		for i := 0; i < ssTrials; i++ {
			c, err := runOnce(fn)
			if err != nil {
				return cost{}, err
			}
			cs = append(cs, c)
		}
		return medianCost(cs), nil
	}

	// Multiplications: batches of 2^20, preceded by nothing (GRR needs no
	// preprocessing). Inputs are random shares.
	const mulBatch = 1 << 20
	const mulReps = 3
	x, y := field.New(mulBatch), field.New(mulBatch)
	prg, err := field.NewPRGFrom(rand.Reader, "bench")
	if err != nil {
		return err
	}
	prg.FillVector(x)
	prg.FillVector(y)
	timed = nil
	_, err = run(func(ctx context.Context, p *ss.Party) error {
		v, err := auth(ctx, p, x, y)
		if err != nil {
			return err
		}
		c, err := measure(func() error {
			for i := 0; i < mulReps; i++ {
				if _, err := p.MulVec(ctx, v[0], v[1]); err != nil {
					return err
				}
			}
			return p.Verify(ctx)
		})
		if err != nil {
			return err
		}
		record(p, c)
		return nil
	})
	if err != nil {
		return fmt.Errorf("mul: %w", err)
	}
	c := medianCost(timed)
	ssRate(res, "ss.mul_per_s", mulBatch*mulReps, c)
	fmt.Fprintf(progress, "ss: %d multiplications in %v (CPU %v)\n", mulBatch*mulReps, c.wall, c.cpu)

	// 64-bit comparisons, batched, including the preprocessing of their
	// random bits; the online phase is timed separately too.
	const cmpBatch = 10000
	a, b := field.New(cmpBatch), field.New(cmpBatch)
	for i := range a {
		a[i].SetUint64(prg.Uint64())
		b[i].SetUint64(prg.Uint64())
	}
	var onlines []cost
	var onlineMu sync.Mutex
	timed = nil
	_, err = run(func(ctx context.Context, p *ss.Party) error {
		v, err := auth(ctx, p, a, b)
		if err != nil {
			return err
		}
		var online cost
		c, err := measure(func() error {
			if err := p.PrepareComparisons(ctx, cmpBatch, 0); err != nil {
				return err
			}
			var err error
			online, err = measure(func() error {
				if _, err := p.LessThanVec(ctx, v[0], v[1]); err != nil {
					return err
				}
				return p.Verify(ctx)
			})
			return err
		})
		if err != nil {
			return err
		}
		if p.Self() == 0 {
			onlineMu.Lock()
			onlines = append(onlines, online)
			onlineMu.Unlock()
		}
		record(p, c)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cmp: %w", err)
	}
	c = medianCost(timed)
	online := medianCost(onlines)
	ssRate(res, "ss.cmp64_per_s", cmpBatch, c)
	ssRate(res, "ss.cmp64_online_per_s", cmpBatch, online)
	fmt.Fprintf(progress, "ss: %d comparisons in %v, CPU %v (online %v, CPU %v)\n", cmpBatch, c.wall, c.cpu, online.wall, online.cpu)

	// Equality, same conditions.
	timed = nil
	_, err = run(func(ctx context.Context, p *ss.Party) error {
		v, err := auth(ctx, p, a, b)
		if err != nil {
			return err
		}
		c, err := measure(func() error {
			if _, err := p.EqualVec(ctx, v[0], v[1]); err != nil {
				return err
			}
			return p.Verify(ctx)
		})
		if err != nil {
			return err
		}
		record(p, c)
		return nil
	})
	if err != nil {
		return fmt.Errorf("eq: %w", err)
	}
	ssRate(res, "ss.eq64_per_s", cmpBatch, medianCost(timed))

	// Poseidon2: latency of one permutation, and throughput of 1,024 side by
	// side (semi-honest figures only).
	for _, m := range []int{1, 1024} {
		if mal {
			break
		}
		s0, s1 := field.New(m), field.New(m)
		c, err = run(func(ctx context.Context, p *ss.Party) error {
			v, err := auth(ctx, p, s0, s1)
			if err != nil {
				return err
			}
			return p.Poseidon2Vec(ctx, v[0], v[1])
		})
		if err != nil {
			return fmt.Errorf("poseidon2: %w", err)
		}
		if m == 1 {
			ssSeconds(res, "ss.poseidon2_s", c)
		} else {
			ssRate(res, "ss.poseidon2_batch1024_per_s", float64(m), c)
		}
		fmt.Fprintf(progress, "ss: %d Poseidon2 permutations side by side in %v (CPU %v)\n", m, c.wall, c.cpu)
	}

	// Vickrey auction of 1,024 sealed bids: the full job (input commitment
	// checks, tournament, output commitment) and the tournament alone.
	const bidders = 1024
	bidFields := make([][]uint64, bidders)
	for i := range bidFields {
		bidFields[i] = []uint64{prg.Uint64() >> 1}
	}
	bidInputs, err := ssProvide(bidFields)
	if err != nil {
		return err
	}
	for _, full := range []bool{true, false} {
		c, err = run(func(ctx context.Context, p *ss.Party) error {
			var err error
			if full {
				_, err = jobs.RunAuction(ctx, p, jobs.SecondPrice, bidInputs[p.Self()])
			} else {
				bids := field.New(bidders)
				for i, in := range bidInputs[p.Self()] {
					bids[i] = in.Share.Fields[0]
				}
				_, err = jobs.Auction(ctx, p, jobs.SecondPrice, bids)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("vickrey: %w", err)
		}
		if full {
			ssSeconds(res, "ss.vickrey_1024_s", c)
		} else {
			ssSeconds(res, "ss.vickrey_1024_no_input_check_s", c)
		}
		fmt.Fprintf(progress, "ss: Vickrey auction of %d bids (input check %v) in %v (CPU %v)\n", bidders, full, c.wall, c.cpu)
	}

	// Double-auction clearing: 4,000 price levels, 100 bidders (50 buyers,
	// 50 sellers).
	const levels, nbidders = 4000, 100
	prices := make([]uint64, levels)
	for l := range prices {
		prices[l] = 10000 + uint64(l)
	}
	curves := make([][]uint64, nbidders)
	for i := range curves {
		curves[i] = make([]uint64, levels)
		for l := range curves[i] {
			if prg.Uint64()%8 == 0 {
				curves[i][l] = prg.Uint64() % (1 << 24)
			}
		}
	}
	curveInputs, err := ssProvide(curves)
	if err != nil {
		return err
	}
	clearingBids := func(self int) []jobs.ClearingBid {
		out := make([]jobs.ClearingBid, nbidders)
		for i := range out {
			out[i] = jobs.ClearingBid{Input: curveInputs[self][i], Side: jobs.Side(1 + i%2)}
		}
		return out
	}
	c, err = run(func(ctx context.Context, p *ss.Party) error {
		_, err := jobs.Clear(ctx, p, jobs.ClearingSpec{Prices: prices}, clearingBids(p.Self()))
		return err
	})
	if err != nil {
		return fmt.Errorf("clearing: %w", err)
	}
	ssSeconds(res, "ss.clearing_4000x100_s", c)
	fmt.Fprintf(progress, "ss: clearing %d levels x %d bidders (no input check) in %v (CPU %v)\n", levels, nbidders, c.wall, c.cpu)

	// The input commitment check of clearing hashes every curve inside the
	// MPC (tree mode: 4,000 levels × 100 bidders is 400,000 compressions in
	// 12 batched levels, then 2 permutations per curve); the full job is the
	// check followed by the clearing.
	if mal {
		// The input check of 400,000 compressions is measured in
		// semi-honest mode only (its malicious cost is ~2× by construction:
		// every product is computed with its MAC).
		return nil
	}
	check, err := runOnce(func(ctx context.Context, p *ss.Party) error {
		return jobs.VerifyInputs(ctx, p, curveInputs[p.Self()])
	})
	if err != nil {
		return fmt.Errorf("clearing input check: %w", err)
	}
	ssSeconds(res, "ss.clearing_input_check_4000x100_s", check)
	ssSeconds(res, "ss.clearing_4000x100_with_input_check_s", cost{wall: check.wall + c.wall, cpu: check.cpu + c.cpu})
	fmt.Fprintf(progress, "ss: input commitment check of %d curves x %d levels in %v (CPU %v)\n", nbidders, levels, check.wall, check.cpu)
	return nil
}

// runSSJob runs fn for the 3 parties of one job and returns its cost: the
// wall time until the last party finished, and the process CPU time
// meanwhile (the 3 parties and their transport).
func runSSJob(ctx context.Context, com ssCommittee, job string, sec ss.Security, fn func(ctx context.Context, p *ss.Party) error) (cost, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	conns := make([]transport.Conn, ssParties)
	for i := range conns {
		c, err := com.open(ctx, job, i)
		if err != nil {
			return cost{}, err
		}
		defer c.Close()
		conns[i] = c
	}
	errs := make([]error, ssParties)
	c, _ := measure(func() error {
		var wg sync.WaitGroup
		for i := range conns {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				p, err := ss.NewParty(ctx, conns[i], ss.Config{Security: sec})
				if err != nil {
					errs[i] = err
					cancel()
					return
				}
				if errs[i] = fn(ctx, p); errs[i] != nil {
					cancel()
				}
			}(i)
		}
		wg.Wait()
		return nil
	})
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("party %d: %w", i, err))
		}
	}
	if len(failed) > 0 {
		return cost{}, errors.Join(failed...)
	}
	return c, nil
}

// ssProvide plays the data providers: it shares each provider's fields with
// a fresh salt; out[i][j] is party i's view of provider j.
func ssProvide(fields [][]uint64) ([][]jobs.Input, error) {
	out := make([][]jobs.Input, ssParties)
	for i := range out {
		out[i] = make([]jobs.Input, len(fields))
	}
	for j, f := range fields {
		vals := field.FromUint64s(f)
		salt, err := jobs.NewSalt(nil)
		if err != nil {
			return nil, err
		}
		msgs, c, err := jobs.ShareInput(ssParties, vals, salt, nil)
		if err != nil {
			return nil, err
		}
		for i := range msgs {
			sh, err := jobs.DecodeInputShare(msgs[i], len(f))
			if err != nil {
				return nil, err
			}
			out[i][j] = jobs.Input{Provider: fmt.Sprintf("provider-%d", j), Commitment: c, Share: sh}
		}
	}
	return out, nil
}

// p2pCommittee runs each party on its own libp2p host on loopback TCP.
type p2pCommittee struct {
	nets []*transport.P2PNetwork
}

func (c p2pCommittee) open(ctx context.Context, job string, i int) (transport.Conn, error) {
	return c.nets[i].Open(ctx, job, transport.PartyID(i), ssParties)
}
func (p2pCommittee) name() string { return "libp2p (loopback TCP, TLS 1.3, yamux)" }

// ssP2PCommittee starts 3 libp2p hosts on loopback TCP configured as the
// node's (TLS 1.3 then Noise, yamux), each with its own MPC network.
func ssP2PCommittee() (ssCommittee, func(), error) {
	var closers []func() error
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
	}
	hosts := make([]host.Host, ssParties)
	ids := make([]peer.ID, ssParties)
	for i := range hosts {
		h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics(), libp2p.DisableRelay(),
			libp2p.Security(libp2ptls.ID, libp2ptls.New), libp2p.Security(noise.ID, noise.New),
			libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()))
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("start libp2p host: %w", err)
		}
		closers = append(closers, h.Close)
		hosts[i], ids[i] = h, h.ID()
	}
	for _, h := range hosts {
		for _, o := range hosts {
			if o != h {
				h.Peerstore().AddAddrs(o.ID(), o.Addrs(), peerstore.PermanentAddrTTL)
			}
		}
	}
	resolver := transport.WithCommitteeResolver(func(context.Context, string) ([]peer.ID, error) { return ids, nil })
	com := p2pCommittee{}
	for _, h := range hosts {
		nw := transport.NewP2PNetwork(h, resolver)
		closers = append(closers, nw.Close)
		com.nets = append(com.nets, nw)
	}
	return com, cleanup, nil
}
