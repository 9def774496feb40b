package jobs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cohortnet/cohort/mpc/he"
	"github.com/cohortnet/cohort/mpc/transport"
)

// heCommittee is a 3-of-4 committee on the insecure test preset, set up once
// for all tests of the package.
type heCommittee struct {
	preset  *he.Preset
	members []*he.Member
}

var (
	heOnce sync.Once
	heComm *heCommittee
	heErr  error
)

func testCommittee(t *testing.T) *heCommittee {
	t.Helper()
	heOnce.Do(func() {
		preset, err := he.InsecureTestPreset()
		if err != nil {
			heErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		const n, thr = 4, 3
		nw := transport.NewMemoryNetwork()
		members := make([]*he.Member, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				conn, err := nw.Open(ctx, "setup", transport.PartyID(i), n)
				if err != nil {
					errs[i] = err
					return
				}
				defer conn.Close()
				members[i], _, errs[i] = he.Setup(ctx, conn, preset, he.SetupConfig{
					CommitteeID: "jobs-test", Threshold: thr, GaloisElements: HEGaloisElements(preset),
				}, he.NewMemoryStore())
			}(i)
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				heErr = err
				return
			}
		}
		heComm = &heCommittee{preset: preset, members: members}
	})
	if heErr != nil {
		t.Fatalf("committee setup: %v", heErr)
	}
	return heComm
}

// runJob runs one job with the given members online; wrap may replace a
// member's Conn (to simulate a drop).
func runJob(ctx context.Context, c *heCommittee, online []int, run func(ctx context.Context, m *he.Member, conn transport.Conn) (*he.Result, error), wrap func(i int, conn transport.Conn) transport.Conn) ([]*he.Result, []error) {
	nw := transport.NewMemoryNetwork()
	n := len(c.members)
	res := make([]*he.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for _, i := range online {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn, err := nw.Open(ctx, "job", transport.PartyID(i), n)
			if err != nil {
				errs[i] = err
				return
			}
			if wrap != nil {
				conn = wrap(i, conn)
			}
			defer conn.Close()
			res[i], errs[i] = run(ctx, c.members[i], conn)
		}(i)
	}
	wg.Wait()
	return res, errs
}
