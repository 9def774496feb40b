package ss

import (
	"errors"

	"github.com/cohortnet/cohort/mpc/transport"
)

// Abort tells the peers, once, that this party aborts, for a reason the
// engine may not have seen (e.g. the jobs layer found a provider's input not
// opening its commitment): a peer still waiting on this party then reports
// an abort instead of naming it for leaving without a notice. An error that
// names a party (*transport.PartyError) or a failed check (*CheckError) is
// announced as the engine announces it; any other reason as an unidentified
// abort. A party that has already aborted sends nothing more.
func (p *Party) Abort(reason error) {
	var pe *transport.PartyError
	var ce *CheckError
	if !errors.As(reason, &pe) && !errors.As(reason, &ce) {
		reason = &CheckError{Check: "job", Culprit: -1, Group: -1, Detail: reason.Error()}
	}
	_ = p.fail(reason)
}
