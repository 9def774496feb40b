//go:build linux

package netns

import (
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"time"
)

// maxFrame bounds a frame read from a TAP device: an Ethernet frame of the
// default MTU (1500) plus headers; TAP devices made without offloads never
// hand over more.
const maxFrame = 1 << 16

// linkQueue is how many frames may wait on one direction of a link; a full
// queue drops, as a switch port's buffer would.
const linkQueue = 4096

// frame is one Ethernet frame in flight.
type frame struct {
	data []byte
	at   time.Time // delivery time
}

// link is one direction src→dst between two ports. Its frames are delivered
// in order: jitter varies the latency but never reorders a flow, as on a
// path through real switches (netem's jitter reorders, which makes TCP
// retransmit and measures TCP's reordering handling, not the network).
type link struct {
	q    chan frame
	last time.Time // delivery time of the last frame queued (guarded by Switch.mu)
}

// Switch is an Ethernet switch between TAP devices with a per-frame latency.
type Switch struct {
	delay, jitter time.Duration

	mu     sync.Mutex
	ports  []*os.File
	macs   map[[6]byte]int // learned MAC → port
	groups []int           // partition group of each port; frames cross only within a group
	links  [][]*link       // links[src][dst]
	rng    *rand.Rand

	stop chan struct{}
	wg   sync.WaitGroup
}

// newSwitch starts forwarding between ports. Every frame is delivered after
// delay ± jitter (uniform), counted once, at the sender's port.
func newSwitch(ports []*os.File, delay, jitter time.Duration) *Switch {
	s := &Switch{
		delay: delay, jitter: jitter,
		ports:  ports,
		macs:   make(map[[6]byte]int),
		groups: make([]int, len(ports)),
		rng:    rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		stop:   make(chan struct{}),
	}
	s.links = make([][]*link, len(ports))
	for i := range ports {
		s.links[i] = make([]*link, len(ports))
		for j := range ports {
			if i == j {
				continue
			}
			l := &link{q: make(chan frame, linkQueue)}
			s.links[i][j] = l
			s.wg.Add(1)
			go s.deliver(i, j, l)
		}
	}
	for i := range ports {
		s.wg.Add(1)
		go s.read(i)
	}
	return s
}

// Partition puts each port in a group; frames between groups are dropped,
// including those already in flight. Partition(nil) heals.
func (s *Switch) Partition(groups [][]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.groups {
		s.groups[i] = 0
	}
	for g, members := range groups {
		for _, p := range members {
			s.groups[p] = g + 1
		}
	}
}

// close stops forwarding; the caller closes the ports (which ends the reads).
func (s *Switch) close() {
	close(s.stop)
	s.wg.Wait()
}

func (s *Switch) read(src int) {
	defer s.wg.Done()
	buf := make([]byte, maxFrame)
	for {
		n, err := s.ports[src].Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			select {
			case <-s.stop:
				return
			default:
			}
			// A TAP read fails transiently while its interface is down.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if n < 14 {
			continue
		}
		s.forward(src, append([]byte(nil), buf[:n]...))
	}
}

func (s *Switch) forward(src int, data []byte) {
	var dst, srcMAC [6]byte
	copy(dst[:], data[0:6])
	copy(srcMAC[:], data[6:12])
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if srcMAC[0]&1 == 0 {
		s.macs[srcMAC] = src
	}
	send := func(d int) {
		if s.groups[d] != s.groups[src] {
			return
		}
		l := s.links[src][d]
		at := now.Add(s.delay)
		if s.jitter > 0 {
			at = at.Add(time.Duration(s.rng.Int64N(int64(2*s.jitter)+1)) - s.jitter)
		}
		if at.Before(l.last) {
			at = l.last
		}
		select {
		case l.q <- frame{data: data, at: at}:
			l.last = at
		default: // queue full: drop
		}
	}
	if p, ok := s.macs[dst]; ok && dst[0]&1 == 0 {
		if p != src {
			send(p)
		}
		return
	}
	for d := range s.ports {
		if d != src {
			send(d)
		}
	}
}

func (s *Switch) deliver(src, dst int, l *link) {
	defer s.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		var f frame
		select {
		case <-s.stop:
			return
		case f = <-l.q:
		}
		if d := time.Until(f.at); d > 0 {
			timer.Reset(d)
			select {
			case <-s.stop:
				return
			case <-timer.C:
			}
		}
		s.mu.Lock()
		cut := s.groups[src] != s.groups[dst]
		s.mu.Unlock()
		if cut {
			continue
		}
		// A write fails while the destination's interface is down: the
		// frame is lost, as on a cable pulled out.
		_, _ = s.ports[dst].Write(f.data)
	}
}
