package committee

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/cohortnet/cohort/mpc/transport"
	"go.dedis.ch/kyber/v3/share"
)

// SignResult is the outcome of one SignRound.
type SignResult struct {
	// Signature is the committee's combined signature, SignatureSize bytes.
	Signature []byte
	// Signers are the members whose partials were combined, ascending.
	Signers []int
	// Invalid lists members whose partial arrived before the signature was
	// complete and was rejected; they deserve a report even though the round
	// succeeded.
	Invalid []*InvalidPartialError
}

// SignRound runs one signing round over conn in transport round r: this
// member sends its partial signature on msg to every other member, then
// collects theirs, verifying each as it arrives, and combines as soon as
// key.T valid partials (its own included) are in hand. Members that are slow
// or never answer are not waited for once T are valid; partials that fail
// verification, or claim another member's index, are set aside and reported.
// Every member that runs SignRound obtains the signature independently.
//
// The wait is bounded by ctx: if T valid partials have not arrived by its
// deadline the error is a *FaultError naming every member that was silent or
// sent an invalid partial.
func SignRound(ctx context.Context, conn transport.Conn, r transport.Round, s *Share, msg []byte) (*SignResult, error) {
	if s == nil || s.Key == nil {
		return nil, errors.New("sign round: empty share")
	}
	n, me := conn.Parties(), int(conn.Self())
	if n != s.Key.N || me != s.Index {
		return nil, fmt.Errorf("sign round: conn is party %d of %d but the share is member %d of %d", me, n, s.Index, s.Key.N)
	}
	own, err := SignPartial(s, msg)
	if err != nil {
		return nil, fmt.Errorf("sign round: %w", err)
	}

	// Send to everyone; an unreachable member must not stop the others from
	// getting this partial, so send failures are only remembered. A member
	// that already left (it had its t partials and closed) is one of them:
	// its partial, if any, was sent before it left. Only the closure of this
	// member's own connection ends the round.
	f := faults{phase: "sign round"}
	for j := 0; j < n; j++ {
		if j == me {
			continue
		}
		if err := conn.Send(ctx, transport.PartyID(j), r, own); err != nil {
			var pe *transport.PartyError
			if errors.Is(err, transport.ErrClosed) && !(errors.As(err, &pe) && pe.Party == transport.PartyID(j)) {
				return nil, fmt.Errorf("sign round: %w", err)
			}
			f.add(j, r, "send: %w", err)
		}
	}

	type arrival struct {
		from    int
		partial []byte
		err     error
	}
	rctx, cancel := context.WithCancel(ctx)
	arrivals := make(chan arrival, n)
	var wg sync.WaitGroup
	for j := 0; j < n; j++ {
		if j == me {
			continue
		}
		wg.Add(1)
		go func(j int) {
			defer wg.Done()
			p, err := conn.Recv(rctx, transport.PartyID(j), r)
			if err == nil {
				err = verifyFrom(s.Key, msg, p, j)
			}
			arrivals <- arrival{from: j, partial: p, err: err}
		}(j)
	}
	// The receivers are stopped and joined before SignRound returns.
	defer func() {
		cancel()
		wg.Wait()
	}()

	valid := map[int][]byte{me: own}
	res := &SignResult{}
	for pending := n - 1; pending > 0 && len(valid) < s.Key.T; pending-- {
		a := <-arrivals
		if a.err == nil {
			valid[a.from] = a.partial
			continue
		}
		var ip *InvalidPartialError
		var pe *transport.PartyError
		switch {
		case errors.As(a.err, &ip):
			res.Invalid = append(res.Invalid, ip)
			f.add(a.from, r, "%w", a.err)
		case errors.As(a.err, &pe):
			f.addErr(pe)
		default:
			f.add(a.from, r, "%w", a.err)
		}
	}
	if len(valid) < s.Key.T {
		fe := f.err()
		if fe == nil {
			fe = errors.New("sign round: too few partials")
		}
		return nil, fmt.Errorf("sign round: %d of %d needed partials: %w", len(valid), s.Key.T, fe)
	}
	// Every partial in valid has been verified against its signer's public
	// key share, so their interpolation is the committee's signature; no
	// second check of the result is needed.
	shares := make([]*share.PubShare, 0, len(valid))
	for idx, p := range valid {
		_, pt, err := parsePartial(s.Key, p)
		if err != nil {
			return nil, fmt.Errorf("sign round: %w", err)
		}
		shares = append(shares, &share.PubShare{I: idx, V: pt})
		res.Signers = append(res.Signers, idx)
	}
	sort.Ints(res.Signers)
	sig, err := interpolate(s.Key, shares)
	if err != nil {
		return nil, fmt.Errorf("sign round: %w", err)
	}
	res.Signature = sig
	return res, nil
}

// verifyFrom checks a partial received from member `from`: it must verify and
// carry that member's own index (a member must not pass off another's partial).
func verifyFrom(key *CommitteeKey, msg, partial []byte, from int) error {
	if err := VerifyPartial(key, msg, partial); err != nil {
		var ip *InvalidPartialError
		if errors.As(err, &ip) {
			ip.Index = from
		}
		return err
	}
	if idx, _ := PartialIndex(partial); idx != from {
		return &InvalidPartialError{Index: from, Err: fmt.Errorf("partial carries member %d's index", idx)}
	}
	return nil
}
