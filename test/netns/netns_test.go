//go:build linux

package netns

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func newLab(t *testing.T, o Options) *Lab {
	t.Helper()
	l, err := New(o)
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("needs root and network namespaces: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// echo serves one line-echo connection at a time inside host i.
func echo(t *testing.T, l *Lab, i int) string {
	t.Helper()
	ln, err := l.Listen(i, l.IP(i)+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, r *bufio.Reader, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	c.SetDeadline(start.Add(timeout))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return 0, err
	}
	if _, err := r.ReadString('\n'); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// TestLab checks the lab's plumbing: hosts reach each other by their own IPs
// through the delaying switch, a partition and a link down stop traffic and
// healing resumes the same TCP connection, and Close removes the namespaces.
func TestLab(t *testing.T) {
	const delay, jitter = 30 * time.Millisecond, 10 * time.Millisecond
	l := newLab(t, Options{Hosts: 3, Subnet: "10.77.0", Delay: delay, Jitter: jitter})
	addr := echo(t, l, 1)
	if !strings.HasPrefix(addr, "10.77.0.2:") {
		t.Fatalf("listener on host 1 at %s", addr)
	}
	c, err := l.Dial(0, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.LocalAddr().String(); !strings.HasPrefix(got, "10.77.0.1:") {
		t.Fatalf("host 0 dials from %s", got)
	}
	r := bufio.NewReader(c)
	for k := 0; k < 5; k++ {
		rtt, err := roundTrip(c, r, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if rtt < 2*(delay-jitter) {
			t.Fatalf("round trip %v, below twice the minimum latency %v", rtt, delay-jitter)
		}
	}

	// Host 1 cannot reach host 0 from its own namespace's loopback view
	// of the world: the root namespace holds no address of the subnet.
	if _, err := net.DialTimeout("tcp", addr, 300*time.Millisecond); err == nil {
		t.Fatal("the root namespace reaches a lab host")
	}

	for _, fault := range []struct {
		name      string
		cut, heal func()
	}{
		{"partition", func() { l.Partition([][]int{{0}, {1, 2}}) }, func() { l.Partition(nil) }},
		{"link down", func() { mustNil(t, l.SetLink(1, false)) }, func() { mustNil(t, l.SetLink(1, true)) }},
	} {
		fault.cut()
		if _, err := roundTrip(c, r, time.Second); err == nil {
			t.Fatalf("%s: echo crossed the cut", fault.name)
		}
		fault.heal()
		// The echo of the lost write (retransmitted by TCP) arrives.
		c.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatalf("%s healed: %v", fault.name, err)
		}
		if _, err := roundTrip(c, r, 10*time.Second); err != nil {
			t.Fatalf("%s healed: %v", fault.name, err)
		}
	}

	out, err := l.Command(context.Background(), 2, "ip", "-br", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "10.77.0.3/24") {
		t.Fatalf("ip addr in host 2: %v\n%s", err, out)
	}
	names := []string{l.Name(0), l.Name(1), l.Name(2)}
	l.Close()
	for _, n := range names {
		if _, err := os.Stat(netnsDir + "/" + n); !os.IsNotExist(err) {
			t.Fatalf("namespace %s left after Close: %v", n, err)
		}
	}
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
