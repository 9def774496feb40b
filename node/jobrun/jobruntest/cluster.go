package jobruntest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.dedis.ch/kyber/v3"

	"github.com/cohortnet/cohort/internal/sealbox"
	"github.com/cohortnet/cohort/mpc/committee"
	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/jobspec"
	"github.com/cohortnet/cohort/mpc/transport"
	"github.com/cohortnet/cohort/node/jobrun"
	"github.com/cohortnet/cohort/node/jobrun/plainref"
	"github.com/cohortnet/cohort/node/supervision"
)

// Cluster runs whole jobs in one process, every party on the same
// transport.Network: the bench harness, tests and demos use it. It plays the
// ledger's part by handing the providers' commitments to the committee and
// the recipient.
type Cluster struct {
	Preset  *he.Preset
	Members []string
	Keys    []*jobrun.CommitteeKeys
	Record  *jobrun.CommitteeRecord
	// Network carries every session. Tests may wrap it per party (NetworkOf).
	Network   transport.Network
	NetworkOf func(party string) transport.Network
	// Stores hold each member's persisted committee secrets.
	Stores []jobrun.Store
	// SealingKeys are the members' sealing keys (sealed inputs) and ChainID
	// the chain those are bound to.
	SealingKeys []supervision.KeyPair
	ChainID     string
	// OnSpec, if set, sees every job's spec before the job runs (a libp2p
	// network's session resolver needs it).
	OnSpec func(*jobrun.Spec)

	runs atomic.Uint64 // sample jobs run, for fresh job IDs
}

// LocalCommitteeID is the committee ID of a Cluster.
const LocalCommitteeID = "local"

// NewCluster sets up a committee of n members with threshold t over an
// in-memory network (the one-time HE key generation and BLS DKG).
func NewCluster(ctx context.Context, preset *he.Preset, n, t int) (*Cluster, error) {
	nw := transport.NewMemoryNetwork()
	c := &Cluster{Preset: preset, Network: nw, Members: make([]string, n), Keys: make([]*jobrun.CommitteeKeys, n), Stores: make([]jobrun.Store, n),
		SealingKeys: make([]supervision.KeyPair, n), ChainID: "cluster-chain"}
	for i := range c.SealingKeys {
		c.SealingKeys[i] = supervision.GenerateKey()
	}
	lts := make([]*committee.LongTermKey, n)
	pubs := make([]committee.LongTermPublicKey, n)
	for i := range lts {
		c.Members[i] = fmt.Sprintf("n%d", i)
		lts[i] = committee.GenerateLongTermKey()
		pubs[i] = lts[i].Public()
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := nw.Open(ctx, "committee-setup", transport.PartyID(i), n)
			if err != nil {
				errs[i] = err
				return
			}
			defer conn.Close()
			c.Stores[i] = he.NewMemoryStore()
			c.Keys[i], errs[i] = jobrun.SetupCommittee(ctx, conn, jobrun.CommitteeConfig{
				CommitteeID: LocalCommitteeID, Preset: preset, Threshold: t, LongTerm: lts[i], Members: pubs, MemberIDs: c.Members,
			}, c.Stores[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("jobrun: cluster setup: %w", err)
	}
	rec, err := c.Keys[0].Record()
	if err != nil {
		return nil, err
	}
	c.Record = rec
	return c, nil
}

// outputGrace is how long providers and the recipient may still take after
// the last committee member returned.
const outputGrace = 3 * time.Second

// RunOptions tunes one Cluster.Run.
type RunOptions struct {
	Attempt int
	// Offline members never join; Silent providers prepare and post their
	// commitment but never send.
	Offline []string
	Silent  []string
	// Commitments overrides what a provider posts (to test mismatches).
	Commitments  map[string][]byte
	InputTimeout time.Duration
	StepTimeout  time.Duration
	// CandidateGrace is the recipient's RecipientJob.CandidateGrace.
	CandidateGrace time.Duration
	Rand           func(party string) io.Reader

	// Tamper, if set, alters prepared inputs after their commitments were
	// posted (fault tests).
	Tamper func(*jobrun.PreparedInput)
	// Sealed providers (slots) post their shares sealed to the members'
	// SealingKeys, as the ledger would keep them, instead of sending them;
	// a provider whose member is in spec.Nodeless has no session at all.
	// TamperSealed, if set, alters the sealed shares of a slot (one per
	// member) before the members read them.
	Sealed       []string
	TamperSealed func(slot string, shares [][]byte)
	// TamperSealedPlain, if set, is a dishonest sealed provider: it
	// rewrites the plaintext share message of each member (index m) of a
	// sealed slot after the commitments are made, and the result is sealed
	// afresh to the member (a publicly valid ciphertext, as the provider
	// would make it). It returns msg to leave a share alone.
	TamperSealedPlain func(slot string, member int, msg []byte) []byte
	// OwnSealedOnly gives each member only its own sealed shares, not every
	// member's and their sealing keys (CommitteeJob.SealedShares,
	// SealingKeys): a caller that cannot check claims on sealed shares.
	OwnSealedOnly bool
}

// RunReport is everything the parties of one run returned.
type RunReport struct {
	Outcomes       map[string]*jobrun.Outcome
	MemberErrs     map[string]error
	Result         *jobrun.Result
	RecipientErr   error
	ProviderResult map[string]*jobrun.ProviderResult
	ProviderErrs   map[string]error
	// Prepare is the providers' input preparation time (in parallel), Job
	// the rest until every party returned.
	Prepare, Job time.Duration
}

// Run runs one job attempt with every party of spec in this process; inputs
// maps each provider to its input file.
func (c *Cluster) Run(ctx context.Context, spec *jobrun.Spec, inputs map[string][]byte, opts RunOptions) (*RunReport, error) {
	if err := spec.EnsureValid(); err != nil {
		return nil, err
	}
	if c.OnSpec != nil {
		c.OnSpec(spec)
	}
	rep := &RunReport{
		Outcomes: map[string]*jobrun.Outcome{}, MemberErrs: map[string]error{},
		ProviderResult: map[string]*jobrun.ProviderResult{}, ProviderErrs: map[string]error{},
	}
	rnd := func(p string) io.Reader {
		if opts.Rand == nil {
			return nil
		}
		return opts.Rand(p)
	}
	start := time.Now()
	prepared := make([]*jobrun.PreparedInput, len(spec.Providers))
	perrs := make([]error, len(spec.Providers))
	var wg sync.WaitGroup
	for i, p := range spec.Providers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prepared[i], perrs[i] = jobrun.PrepareInput(spec, p, inputs[p], jobrun.ProviderKeys{Preset: c.Preset, CommitteeHEKey: c.Record.HEPublicKey, Rand: rnd(p)})
		}()
	}
	wg.Wait()
	if err := errors.Join(perrs...); err != nil {
		return nil, err
	}
	commitments := make([][]byte, len(spec.Providers))
	for i, p := range spec.Providers {
		commitments[i] = prepared[i].Commitment
		if o, ok := opts.Commitments[p]; ok {
			commitments[i] = o
		}
	}
	rep.Prepare = time.Since(start)
	if opts.Tamper != nil {
		for _, in := range prepared {
			opts.Tamper(in)
		}
	}
	// sealed[m][i]: member m's sealed share of slot i, as on the ledger.
	sealed := make([][][]byte, len(spec.Committee))
	for m := range sealed {
		sealed[m] = make([][]byte, len(spec.Providers))
	}
	pubs := make([]kyber.Point, len(c.SealingKeys))
	for m, k := range c.SealingKeys {
		pubs[m] = k.Public
	}
	// bySlot[i]: every member's sealed share of slot i, as the ledger keeps
	// them (what members check each other's claims against).
	bySlot := make([][][]byte, len(spec.Providers))
	// shareCommitments[i]: slot i's share commitments, as on the ledger.
	shareCommitments := make([][]byte, len(spec.Providers))
	for i, p := range spec.Providers {
		if !slices.Contains(opts.Sealed, p) {
			continue
		}
		shares, com, err := prepared[i].SealShares(spec, c.ChainID, pubs)
		if err != nil {
			return nil, err
		}
		shareCommitments[i] = com
		if opts.TamperSealedPlain != nil {
			if err := c.resealPlain(spec, p, shares, opts.TamperSealedPlain); err != nil {
				return nil, err
			}
		}
		if opts.TamperSealed != nil {
			opts.TamperSealed(p, shares)
		}
		for m := range shares {
			sealed[m][i] = shares[m]
		}
		bySlot[i] = shares
	}

	parties, _ := jobrun.SessionParties(spec, jobrun.SessionIO)
	var mu sync.Mutex
	// The ledger would tell providers and the recipient that a job ended;
	// here their roles end a grace period after every member returned.
	roleCtx, cancelRoles := context.WithCancel(ctx)
	defer cancelRoles()
	var membersDone sync.WaitGroup
	for _, m := range spec.Committee {
		if !slices.Contains(opts.Offline, m) {
			membersDone.Add(1)
		}
	}
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		membersDone.Wait()
		select {
		case <-time.After(outputGrace):
			cancelRoles()
		case <-stopped:
		}
	}()
	for _, party := range parties {
		if slices.Contains(opts.Offline, party) {
			continue
		}
		var slots []int // the provider slots this party sends
		for _, i := range spec.SlotsOf(party) {
			if !slices.Contains(opts.Silent, spec.Providers[i]) && !slices.Contains(opts.Sealed, spec.Providers[i]) {
				slots = append(slots, i)
			}
		}
		if len(slots) == 0 && spec.MemberIndex(party) < 0 && party != spec.Recipient {
			continue // a silent provider with no other role never shows up
		}
		nw := c.Network
		if c.NetworkOf != nil {
			nw = c.NetworkOf(party)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := spec.MemberIndex(party)
			memberDone := func() {}
			if m >= 0 {
				memberDone = sync.OnceFunc(membersDone.Done)
				defer memberDone()
			}
			sess, err := jobrun.Join(ctx, nw, spec, opts.Attempt, party)
			if err != nil {
				mu.Lock()
				rep.MemberErrs[party] = err
				mu.Unlock()
				return
			}
			defer sess.Close()
			roles := jobrun.Roles{Outputs: roleCtx, OnOutcome: func(*jobrun.Outcome, error) { memberDone() }}
			for _, i := range slots {
				roles.Inputs = append(roles.Inputs, prepared[i])
			}
			if m >= 0 {
				roles.Member = &jobrun.MemberRole{Keys: c.Keys[m], Job: jobrun.CommitteeJob{
					InputCommitments: commitments, InputTimeout: opts.InputTimeout, StepTimeout: opts.StepTimeout, Rand: rnd(party),
					Sealed: sealed[m], ChainID: c.ChainID, SealedShares: bySlot, SealingKeys: pubs,
					SealedCommitments: shareCommitments,
				}}
				if m < len(c.SealingKeys) {
					roles.Member.Job.SealingKey = c.SealingKeys[m].Private
				}
				if opts.OwnSealedOnly {
					roles.Member.Job.SealedShares, roles.Member.Job.SealingKeys = nil, nil
				}
			}
			if party == spec.Recipient {
				roles.Recipient = &jobrun.RecipientJob{Preset: c.Preset, CommitteeKey: c.Record.Key, InputCommitments: commitments, CandidateGrace: opts.CandidateGrace}
			}
			res := jobrun.PlayRoles(ctx, sess, roles)
			mu.Lock()
			defer mu.Unlock()
			if m >= 0 {
				rep.Outcomes[party], rep.MemberErrs[party] = res.Outcome, res.MemberErr
			}
			for k, i := range slots {
				rep.ProviderResult[spec.Providers[i]], rep.ProviderErrs[spec.Providers[i]] = res.Provided[k], res.ProviderErrs[k]
			}
			if party == spec.Recipient {
				rep.Result, rep.RecipientErr = res.Result, res.RecipientErr
			}
		}()
	}
	wg.Wait()
	rep.Job = time.Since(start) - rep.Prepare
	return rep, nil
}

// LocalTimings are the durations RunLocal measures.
type LocalTimings struct {
	// Setup is the committee's one-time setup (HE keys and BLS DKG).
	Setup time.Duration
	// Prepare is the providers' input preparation (encryption or sharing
	// and commitments, providers in parallel).
	Prepare time.Duration
	// Job is the rest of the job: input delivery, checks, computation,
	// signing and delivery to the recipient.
	Job time.Duration
	// EndToEnd is Prepare + Job: one job, end to end, after setup.
	EndToEnd time.Duration
}

// RunLocal runs one job of type typ end to end in this process at the
// secure HE preset, with a committee of 4 (t = SampleThreshold: 2 for HE
// jobs, whose setup then checks every member's key shares; 3 for SS jobs,
// which set up no HE keys): auctions among size
// bidders, clearing among size bidders over 16 price levels, credit scoring
// of size subjects (8 features over 4 providers), aggregates of size values
// over 4 providers. It checks the result against the plaintext computation
// and returns the durations. Progress lines go to progress (may be nil).
func RunLocal(ctx context.Context, typ jobrun.Type, size int, progress io.Writer) (LocalTimings, error) {
	var t LocalTimings
	if progress == nil {
		progress = io.Discard
	}
	preset, err := he.SecurePreset()
	if err != nil {
		return t, err
	}
	start := time.Now()
	th := SampleThreshold(typ, 4)
	fmt.Fprintf(progress, "jobrun: committee setup (4 members, t=%d, preset %s)\n", th, preset.Name)
	c, err := NewCluster(ctx, preset, 4, th)
	if err != nil {
		return t, err
	}
	t.Setup = time.Since(start)
	run, err := c.RunSample(ctx, typ, size, progress)
	if err != nil {
		return t, err
	}
	run.Setup = t.Setup
	return run, nil
}

// RunSample runs one sample job of type typ and size (see RunLocal) on the
// cluster, checks its result against the plaintext computation and returns
// its durations (Setup is left zero). A harness that measures several jobs
// sets the cluster up once and calls RunSample for each.
func (c *Cluster) RunSample(ctx context.Context, typ jobrun.Type, size int, progress io.Writer) (LocalTimings, error) {
	var t LocalTimings
	if progress == nil {
		progress = io.Discard
	}
	spec, inputs, check, err := SampleJob(typ, size, c.Members, rand.New(rand.NewPCG(uint64(size), uint64(time.Now().UnixNano()))))
	if err != nil {
		return t, err
	}
	spec.ID = fmt.Sprintf("%s-%d", spec.ID, c.runs.Add(1))
	fmt.Fprintf(progress, "jobrun: %s job of size %d\n", typ, size)
	rep, err := c.Run(ctx, spec, inputs, RunOptions{})
	if err != nil {
		return t, err
	}
	if err := rep.Err(); err != nil {
		return t, err
	}
	if err := check(rep); err != nil {
		return t, err
	}
	t.Prepare, t.Job, t.EndToEnd = rep.Prepare, rep.Job, rep.Prepare+rep.Job
	fmt.Fprintf(progress, "jobrun: %s size %d: prepare %v, job %v\n", typ, size, t.Prepare.Round(time.Millisecond), t.Job.Round(time.Millisecond))
	return t, nil
}

// Err returns the first failure of any party.
func (r *RunReport) Err() error {
	var errs []error
	for _, m := range sortedKeys(r.MemberErrs) {
		if r.MemberErrs[m] != nil {
			errs = append(errs, fmt.Errorf("member %s: %w", m, r.MemberErrs[m]))
		}
	}
	for _, p := range sortedKeys(r.ProviderErrs) {
		if r.ProviderErrs[p] != nil {
			errs = append(errs, fmt.Errorf("provider %s: %w", p, r.ProviderErrs[p]))
		}
	}
	if r.RecipientErr != nil {
		errs = append(errs, fmt.Errorf("recipient: %w", r.RecipientErr))
	}
	if len(errs) > 0 {
		return errs[0]
	}
	if r.Result == nil {
		return errors.New("jobrun: no result")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// SampleThreshold is the committee threshold of a sample job of type typ on
// n members: ⌈n/2⌉ for HE jobs (the only threshold whose HE setup is
// checked, jobspec.CheckHECommittee), ⌈3n/4⌉ but at least ⌈n/2⌉ for SS jobs
// (3 of 4). A Cluster runs the sample jobs whose threshold is its own.
func SampleThreshold(typ jobrun.Type, n int) int {
	if typ.IsHE() {
		return jobspec.MinThreshold(n)
	}
	return max((n*3+3)/4, jobspec.MinThreshold(n))
}

// SampleJob builds a random job of type typ and size (see RunLocal) on the
// given committee (threshold SampleThreshold), its providers' input files,
// and a check of a run's result against the plaintext computation.
func SampleJob(typ jobrun.Type, size int, members []string, rng *rand.Rand) (*jobrun.Spec, map[string][]byte, func(*RunReport) error, error) {
	spec := &jobrun.Spec{ID: fmt.Sprintf("%s-%d", typ, size), Type: typ, Committee: members, Threshold: SampleThreshold(typ, len(members)), Recipient: members[0]}
	inputs := map[string][]byte{}
	put := func(p string, v any) {
		b, _ := json.Marshal(v)
		inputs[p] = b
	}
	// Bidders of auctions and clearing: even ones run their own node, odd
	// ones are clients of one broker node that supplies their inputs as
	// labelled slots.
	bidder := func(i int) string {
		if i%2 == 1 {
			return fmt.Sprintf("broker/bid%d", i)
		}
		return fmt.Sprintf("bidder%d", i)
	}
	var check func(*RunReport) error
	switch typ {
	case jobrun.AuctionFirst, jobrun.AuctionVickrey:
		bids := make([]uint64, size)
		for i := range bids {
			spec.Providers = append(spec.Providers, bidder(i))
			bids[i] = rng.Uint64N(1 << 40)
			put(spec.Providers[i], jobrun.AuctionInput{Bid: &bids[i]})
		}
		spec.Recipient = spec.Providers[0]
		check = func(r *RunReport) error {
			w, p := plainref.PlainAuction(typ, bids)
			if got := r.Result.Auction; got == nil || got.WinnerIndex != w || got.Price != p {
				return fmt.Errorf("jobrun: auction result %+v, plaintext winner %d price %d", got, w, p)
			}
			return nil
		}
	case jobrun.Clearing:
		const levels = 16
		prices := make([]uint64, levels)
		for l := range prices {
			prices[l] = uint64(100 + 5*l)
		}
		sides := make([]string, size)
		curves := make([][]uint64, size)
		for i := range sides {
			spec.Providers = append(spec.Providers, bidder(i))
			sides[i] = []string{"buyer", "seller"}[i%2]
			curves[i] = make([]uint64, levels)
			for l := range curves[i] {
				curves[i][l] = rng.Uint64N(50)
			}
			put(spec.Providers[i], jobrun.ClearingInput{Quantities: curves[i]})
		}
		spec.Params, _ = json.Marshal(jobrun.ClearingParams{Prices: prices, Sides: sides})
		check = func(r *RunReport) error {
			level, alloc := plainref.PlainClearing(sides, curves)
			if got := r.Result.Clearing; got == nil || got.Level != level {
				return fmt.Errorf("jobrun: clearing result %+v, plaintext level %d", got, level)
			}
			for i, p := range spec.Providers {
				pr := r.ProviderResult[p]
				if pr == nil || pr.Allocation == nil || pr.Allocation.Quantity != alloc[i] {
					return fmt.Errorf("jobrun: bidder %s allocation %+v, plaintext %d", p, pr, alloc[i])
				}
			}
			return nil
		}
	case jobrun.Tender:
		// size quoting members, each running its own node and supplying its
		// two slots; the demander is the recipient. Prices and factors from
		// small sets, so that weighted ties occur; some capacities are zero.
		p := jobrun.TenderParams{Order: fmt.Sprintf("order-%d", size), MaxPartners: max(1, min(size-1, 3)), MaxPrice: 1000}
		prices, capacities := make([]uint64, size), make([]uint64, size)
		var total uint64
		for k := 0; k < size; k++ {
			price, capacity := jobspec.TenderSlots(fmt.Sprintf("q%d", k))
			spec.Providers = append(spec.Providers, price, capacity)
			p.PriceFactors = append(p.PriceFactors, []uint64{1000, 1100, 1250}[rng.IntN(3)])
			prices[k] = 100 + 10*rng.Uint64N(10)
			capacities[k] = rng.Uint64N(40)
			total += capacities[k]
		}
		p.Quantity = max(1, total/2)
		for k := range capacities {
			capacities[k] = min(capacities[k], p.Quantity) // proven ≤ quantity
			put(spec.Providers[2*k], jobrun.TenderInput{Price: &prices[k]})
			put(spec.Providers[2*k+1], jobrun.TenderInput{Capacity: &capacities[k]})
		}
		spec.Params, _ = json.Marshal(p)
		spec.Recipient = "demander"
		check = func(r *RunReport) error {
			award := plainref.PlainTender(p, prices, capacities)
			got := r.Result.Tender
			if got == nil || !slices.Equal(got.Award, award) {
				return fmt.Errorf("jobrun: tender award %+v, plaintext %v", got, award)
			}
			for k := 0; k < size; k++ {
				if award[2*k] > 0 != slices.ContainsFunc(got.Partners, func(tp jobrun.TenderPartner) bool {
					return tp.Quote == k && tp.Member == fmt.Sprintf("q%d", k) && tp.Quantity == award[2*k] && tp.Price == award[2*k+1]
				}) {
					return fmt.Errorf("jobrun: tender partners %+v, plaintext award %v", got.Partners, award)
				}
				if slices.Contains(spec.Nodeless, fmt.Sprintf("q%d", k)) {
					continue // sealed on the ledger; it reads the award (order.award)
				}
				pr := r.ProviderResult[spec.Providers[2*k]]
				if pr == nil || pr.Tender == nil || pr.Tender.Quantity != award[2*k] || pr.Tender.Price != award[2*k+1] || pr.Tender.Commitment != got.Commitments[1+k] {
					return fmt.Errorf("jobrun: quote %d assignment %+v, plaintext (%d, %d)", k, pr, award[2*k], award[2*k+1])
				}
				if pr := r.ProviderResult[spec.Providers[2*k+1]]; pr == nil || pr.Tender != nil || pr.Allocation != nil {
					return fmt.Errorf("jobrun: quote %d's capacity slot got %+v", k, pr)
				}
			}
			return nil
		}
	case jobrun.CreditScore:
		const features = 8
		p := jobrun.CreditParams{Subjects: size, Bias: jobrun.CreditCoef(-0.2), Weights: make([]json.Number, features)}
		cols := make([][]float64, features)
		for j := range cols {
			p.Weights[j] = jobrun.CreditCoef(rng.Float64()*1.2 - 0.6)
			cols[j] = make([]float64, size)
			for i := range cols[j] {
				cols[j][i] = rng.Float64()*2 - 1
			}
		}
		for k, m := range members {
			spec.Providers = append(spec.Providers, m)
			var fs []int
			var mine [][]float64
			for j := k; j < features; j += len(members) {
				fs = append(fs, j)
				mine = append(mine, cols[j])
			}
			p.ProviderFeatures = append(p.ProviderFeatures, fs)
			put(m, jobrun.CreditInput{Features: mine})
		}
		spec.Params, _ = json.Marshal(p)
		check = func(r *RunReport) error {
			want, err := plainref.PlainCreditScores(p, cols)
			if err != nil {
				return err
			}
			if len(r.Result.Scores) != len(want) {
				return fmt.Errorf("jobrun: %d scores, want %d", len(r.Result.Scores), len(want))
			}
			for i := range want {
				if d := r.Result.Scores[i] - want[i]; d > 1e-3 || d < -1e-3 {
					return fmt.Errorf("jobrun: score %d is %v, plaintext %v", i, r.Result.Scores[i], want[i])
				}
			}
			return nil
		}
	case jobrun.Aggregate:
		p := jobrun.AggregateParams{Bins: 8, Lo: 0, Hi: 1000}
		var all [][]int64
		for _, m := range members {
			spec.Providers = append(spec.Providers, m)
			vs := make([]int64, size)
			for i := range vs {
				vs[i] = rng.Int64N(1200) - 100
			}
			all = append(all, vs)
			put(m, jobrun.AggregateInput{Values: vs})
		}
		spec.Params, _ = json.Marshal(p)
		check = func(r *RunReport) error {
			want := plainref.PlainAggregate(p, all)
			got := r.Result.Aggregate
			if got == nil || got.Count != want.Count || got.Sum != want.Sum || got.SumSq != want.SumSq || !slices.Equal(got.Histogram, want.Histogram) {
				return fmt.Errorf("jobrun: aggregate %+v, plaintext %+v", got, want)
			}
			return nil
		}
	default:
		return nil, nil, nil, fmt.Errorf("jobrun: unknown job type %q", typ)
	}
	if err := spec.Validate(); err != nil {
		return nil, nil, nil, err
	}
	return spec, inputs, check, nil
}

// resealPlain opens each member's sealed share of slot (the test holds the
// members' sealing keys), passes the plaintext through edit and seals the
// result afresh to the member: what a provider that deals bad shares under
// honest-looking commitments posts.
func (c *Cluster) resealPlain(spec *jobrun.Spec, slot string, shares [][]byte, edit func(slot string, member int, msg []byte) []byte) error {
	for m, name := range spec.Committee {
		if m >= len(c.SealingKeys) {
			return fmt.Errorf("no sealing key for member %s", name)
		}
		aad := jobrun.SealedShareAAD(c.ChainID, spec.ID, slot, name)
		msg, err := sealbox.Open(c.SealingKeys[m].Private, aad, shares[m])
		if err != nil {
			return fmt.Errorf("open %s's share of %s: %w", name, slot, err)
		}
		if shares[m], err = sealbox.Seal(c.SealingKeys[m].Public, aad, edit(slot, m, msg)); err != nil {
			return err
		}
	}
	return nil
}
