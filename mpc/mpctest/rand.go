package mpctest

import (
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
)

// SeedEnv names the environment variable read when -mpctest.seed is not
// given: a decimal seed to replay, or "random".
const SeedEnv = "MPCTEST_SEED"

// seedFlag is registered on the test binary's flag set like -test.*: a flag
// is the only way `go test ./pkg -args -mpctest.seed=N` can reach a test.
var seedFlag = flag.String("mpctest.seed", "", "replay this seed in every test using mpctest.Seed/Rand (decimal), or \"random\" for a fresh seed per test; default: derived from the test's name (env "+SeedEnv+")")

// seeds remembers each test's seed so that Seed and every Rand of one test
// agree, and the failure message is logged once.
var seeds sync.Map // test name → uint64

// Seed returns the test's seed and, the first time it is asked, arranges for
// the seed and the command that replays it to be logged if the test fails.
// The seed is, in order: -mpctest.seed, $MPCTEST_SEED, or derived from the
// test's name (reproducible run to run, different between tests). The value
// "random" in the flag or variable draws a fresh seed instead.
func Seed(t testing.TB) uint64 {
	t.Helper()
	name := t.Name()
	if s, ok := seeds.Load(name); ok {
		return s.(uint64)
	}
	seed, err := chooseSeed(name)
	if err != nil {
		t.Fatalf("mpctest: %v", err)
	}
	if s, loaded := seeds.LoadOrStore(name, seed); loaded {
		return s.(uint64)
	}
	t.Cleanup(func() {
		seeds.Delete(name)
		if t.Failed() {
			t.Logf("mpctest: seed %d; replay with -mpctest.seed=%d or %s=%d", seed, seed, SeedEnv, seed)
		}
	})
	return seed
}

func chooseSeed(name string) (uint64, error) {
	v := *seedFlag
	if v == "" {
		v = os.Getenv(SeedEnv)
	}
	switch v {
	case "":
		h := sha256.Sum256([]byte("mpctest seed\x00" + name))
		return binary.LittleEndian.Uint64(h[:8]), nil
	case "random":
		return rand.Uint64(), nil
	}
	s, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("seed %q: want a decimal uint64 or \"random\": %w", v, err)
	}
	return s, nil
}

// Stream is a deterministic random stream: an io.Reader for code that takes
// its randomness as one (e.g. ss.Config.Rand), and a *rand.Rand for test
// inputs. It is not safe for concurrent use; give each party its own.
type Stream struct {
	*rand.Rand
	src *rand.ChaCha8
}

// Read fills p with the stream's next bytes; it never fails.
func (s *Stream) Read(p []byte) (int, error) { return s.src.Read(p) }

// Rand returns the test's stream called name: ChaCha8 keyed by the test's
// seed and the name, so streams of different names are independent and
// adding one does not shift the others. The same (seed, name) always gives
// the same bytes.
func Rand(t testing.TB, name string) *Stream {
	t.Helper()
	return NewStream(Seed(t), name)
}

// NewStream returns the stream of (seed, name) without a test: for fixed
// seeds that a test must keep whatever -mpctest.seed says (e.g. known-answer
// vectors), and for benchmarks.
func NewStream(seed uint64, name string) *Stream {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write([]byte("mpctest stream\x00"))
	h.Write(b[:])
	h.Write([]byte(name))
	var key [32]byte
	h.Sum(key[:0])
	src := rand.NewChaCha8(key)
	return &Stream{Rand: rand.New(src), src: src}
}
