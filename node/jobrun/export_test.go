package jobrun

import "github.com/cohortnet/cohort/mpc/transport"

// Internals that the external tests (package jobrun_test, which run whole
// jobs with the jobruntest kit) need.

// ParseElement is parseElement.
var ParseElement = parseElement

// TruncateMessages cuts the last byte off every message of a prepared input
// (a provider sending malformed shares or ciphertexts).
func TruncateMessages(in *PreparedInput) {
	for j := range in.messages {
		m := append([]byte(nil), in.messages[j]...)
		in.messages[j] = m[:len(m)-1]
	}
}

// OutputRound is the transport round of the committee's outputs.
const OutputRound = transport.Round(kindOutput)
