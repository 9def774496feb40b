package ss

import (
	"fmt"

	"github.com/cohortnet/cohort/mpc/field"
	"github.com/cohortnet/cohort/mpc/transport"
)

// laneShift places a lane's number above its round counter: lane l uses the
// logical rounds l<<laneShift + 1, 2, …; (logical rounds stay below 2^48, see
// msgRound).
const laneShift = 40

// MaxLanes bounds the lanes of one job.
const MaxLanes = 255

// Lane returns an engine for an independent sub-protocol of the same job
// that runs concurrently with p (and with other lanes): it shares p's
// connection and pairwise keys, but has its own round numbers (lane l, 1 ≤ l ≤
// MaxLanes), PRG streams, own randomness (drawn from p's), preprocessed pools
// and scratch space (in malicious mode it shares p's MAC key but checks its
// own products, before any unmasked opening of its own). Every party must
// create the same lanes in the same order
// and run the same operations on each; a lane, like a Party, is used by one
// goroutine at a time. A job uses lanes to overlap sub-protocols that do not
// depend on each other, e.g. an input check and the computation whose outputs
// it guards (outputs are opened only after both finished).
func (p *Party) Lane(l int) (*Party, error) {
	if l < 1 || l > MaxLanes {
		return nil, fmt.Errorf("ss: lane %d out of range 1..%d", l, MaxLanes)
	}
	if p.round>>laneShift != 0 || p.lanes == nil {
		return nil, fmt.Errorf("ss: lanes are created from the job's main engine")
	}
	if p.lanes[l] {
		return nil, fmt.Errorf("ss: lane %d already exists", l)
	}
	p.lanes[l] = true
	var seed [field.SeedBytes]byte
	if _, err := p.own.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("ss: lane seed: %w", err)
	}
	q := &Party{
		params: p.params,
		conn:   p.conn,
		self:   p.self,
		round:  transport.Round(l) << laneShift,
		onOpen: p.onOpen,
		sec:    p.sec,
		alpha:  p.alpha,
		cheat:  p.cheat,

		cheatedOnce: p.cheatedOnce,
		own:         field.NewPRG(seed, fmt.Sprintf("cohort/ss/lane/%d", l)),
		toPRG:       p.toPRG,
		fromPRG:     p.fromPRG,
		fromIdx:     p.fromIdx,
		failure:     p.failure,
		workers:     make([]*worker, len(p.workers)),
	}
	for i := range q.workers {
		q.workers[i] = &worker{stream: make([]byte, field.StreamBufBytes)}
	}
	return q, nil
}
