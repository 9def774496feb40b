//go:build linux

package netns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnsupported is returned by New when this machine cannot host a lab:
// not root, no network namespaces, no TAP devices or no `ip` command.
var ErrUnsupported = errors.New("netns: network namespaces unsupported here")

// namePrefix starts every namespace a lab creates; the rest of the name is
// the creating process's PID, so that a later run can tell a leftover of a
// crashed run (its process is gone) from a lab in use.
const namePrefix = "cohortnt-"

// netnsDir is where `ip netns` keeps named namespaces.
const netnsDir = "/run/netns"

// Options describe a lab.
type Options struct {
	Hosts  int           // number of hosts (namespaces), 1 to 200
	Subnet string        // first three octets of the hosts' /24, e.g. "10.77.0"; host i is .i+1
	Delay  time.Duration // one-way latency of every frame
	Jitter time.Duration // latency varies uniformly within ±Jitter
}

// Lab is a set of hosts (network namespaces) joined by a Switch.
type Lab struct {
	names  []string
	ips    []string
	taps   []*os.File
	sw     *Switch
	closed atomic.Bool
	// delayedBy is "tc netem" or "switch"; see DelayedBy.
	delayedBy string

	mu        sync.Mutex
	listeners []net.Listener
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
}

var labSeq atomic.Int64

// New creates the hosts and starts the switch. Namespaces left behind by
// earlier runs whose process has died are deleted first. The caller must
// Close the lab, also on failure of what follows.
func New(o Options) (l *Lab, err error) {
	if o.Hosts < 1 || o.Hosts > 200 {
		return nil, fmt.Errorf("netns: %d hosts, want 1 to 200", o.Hosts)
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: not root", ErrUnsupported)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("%w: no ip command (iproute2): %v", ErrUnsupported, err)
	}
	removeStale()
	l = &Lab{conns: make(map[net.Conn]struct{}), delayedBy: "switch"}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	seq := labSeq.Add(1)
	for i := 0; i < o.Hosts; i++ {
		name := fmt.Sprintf("%s%d-%d-h%d", namePrefix, os.Getpid(), seq, i)
		if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%w: ip netns add: %v: %s", ErrUnsupported, err, trim(out))
		}
		l.names = append(l.names, name)
		tap, tapName, err := openTap()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
		}
		l.taps = append(l.taps, tap)
		ip := fmt.Sprintf("%s.%d", o.Subnet, i+1)
		l.ips = append(l.ips, ip)
		// The device moves into the namespace; its file stays with us, and
		// closing the file deletes the device wherever it is.
		for _, args := range [][]string{
			{"link", "set", "dev", tapName, "netns", name},
			{"-n", name, "link", "set", "dev", tapName, "name", "eth0"},
			{"-n", name, "addr", "add", ip + "/24", "dev", "eth0"},
			{"-n", name, "link", "set", "dev", "eth0", "up"},
			{"-n", name, "link", "set", "dev", "lo", "up"},
		} {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("netns: ip %s: %v: %s", strings.Join(args, " "), err, trim(out))
			}
		}
	}
	delay, jitter := o.Delay, o.Jitter
	if delay > 0 && l.netem(delay, jitter) {
		delay, jitter = 0, 0 // the kernel delays every frame on its way out
	}
	l.sw = newSwitch(l.taps, delay, jitter)
	return l, nil
}

// netem puts `tc netem` on every host's eth0 when the kernel has it, and
// reports whether it did; otherwise the switch delays the frames.
func (l *Lab) netem(delay, jitter time.Duration) bool {
	if _, err := exec.LookPath("tc"); err != nil {
		return false
	}
	for i, name := range l.names {
		args := []string{"-n", name, "qdisc", "add", "dev", "eth0", "root", "netem",
			"delay", fmt.Sprintf("%dus", delay.Microseconds()), fmt.Sprintf("%dus", jitter.Microseconds())}
		if err := exec.Command("tc", args...).Run(); err != nil {
			for _, n := range l.names[:i] {
				_ = exec.Command("tc", "-n", n, "qdisc", "del", "dev", "eth0", "root").Run()
			}
			return false
		}
	}
	l.delayedBy = "tc netem"
	return true
}

// DelayedBy says what delays the frames: "tc netem" on each host's eth0,
// or "switch" when the kernel has no netem (or the lab has no delay).
func (l *Lab) DelayedBy() string { return l.delayedBy }

func trim(out []byte) string { return strings.TrimSpace(string(out)) }

// openTap makes a TAP device (no packet info header, no offloads) in the
// caller's namespace and returns its file and the name the kernel gave it.
func openTap() (*os.File, string, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq("cohorttap%d")
	if err != nil {
		unix.Close(fd)
		return nil, "", err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("TUNSETIFF: %w", err)
	}
	// Non-blocking, so that the runtime's poller serves reads and Close
	// interrupts a blocked one.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, "", err
	}
	return os.NewFile(uintptr(fd), "tap"), ifr.Name(), nil
}

// removeStale deletes namespaces of this package whose creating process no
// longer exists. Their TAP devices went with that process; node processes
// started with Command died with it too (parent-death signal).
func removeStale() {
	entries, err := os.ReadDir(netnsDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), namePrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = exec.Command("ip", "netns", "delete", e.Name()).Run()
		}
	}
}

// Hosts is the number of hosts.
func (l *Lab) Hosts() int { return len(l.names) }

// IP is host i's address on the lab's subnet.
func (l *Lab) IP(i int) string { return l.ips[i] }

// Name is host i's namespace name (for `ip netns exec`).
func (l *Lab) Name(i int) string { return l.names[i] }

// Command runs name with args on host i, through `ip netns exec`. The
// process gets SIGKILL if the test process dies, so that no node outlives a
// crashed test.
func (l *Lab) Command(ctx context.Context, i int, name string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", l.names[i], name}, args...)
	cmd := exec.CommandContext(ctx, "ip", full...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// SetLink sets host i's eth0 up or down (a cable pulled out and put back).
func (l *Lab) SetLink(i int, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	if out, err := exec.Command("ip", "-n", l.names[i], "link", "set", "dev", "eth0", state).CombinedOutput(); err != nil {
		return fmt.Errorf("netns: link %s on host %d: %v: %s", state, i, err, trim(out))
	}
	return nil
}

// Partition splits the hosts into groups that cannot reach each other;
// Partition(nil) heals. Hosts in no group form one more group.
func (l *Lab) Partition(groups [][]int) { l.sw.Partition(groups) }

// Forward listens on a loopback port of the caller's namespace and relays
// every connection to addr (host:port) inside host i: it is how the test
// reaches a node's API, which listens on its host's loopback only.
func (l *Lab) Forward(i int, addr string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("netns: forward: %w", err)
	}
	l.mu.Lock()
	l.listeners = append(l.listeners, ln)
	l.mu.Unlock()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				l.relay(c, i, addr)
			}()
		}
	}()
	return ln.Addr().String(), nil
}

func (l *Lab) relay(c net.Conn, i int, addr string) {
	defer c.Close()
	up, err := l.Dial(i, addr)
	if err != nil {
		return
	}
	defer up.Close()
	if !l.track(c, up) {
		return
	}
	defer l.untrack(c, up)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

func (l *Lab) track(cs ...net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return false
	}
	for _, c := range cs {
		l.conns[c] = struct{}{}
	}
	return true
}

func (l *Lab) untrack(cs ...net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		delete(l.conns, c)
	}
}

// Dial opens a TCP connection from inside host i.
func (l *Lab) Dial(i int, addr string) (net.Conn, error) {
	var conn net.Conn
	err := l.in(i, func() (err error) {
		d := net.Dialer{Timeout: 10 * time.Second}
		conn, err = d.Dial("tcp", addr)
		return err
	})
	return conn, err
}

// Listen opens a TCP listener inside host i.
func (l *Lab) Listen(i int, addr string) (net.Listener, error) {
	var ln net.Listener
	err := l.in(i, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

// in runs f on an OS thread switched into host i's namespace: the sockets f
// creates belong to that namespace for their whole life. f must not start
// goroutines that create sockets.
func (l *Lab) in(i int, f func() error) error {
	target, err := os.Open(filepath.Join(netnsDir, l.names[i]))
	if err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: %w", err)
	}
	defer orig.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("netns: setns: %w", err)
	}
	ferr := f()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread is stuck in the other namespace: leave it locked so
		// that the runtime discards it when this goroutine returns.
		return fmt.Errorf("netns: setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}

// Close stops the switch and the forwarders and deletes the hosts (their
// TAP devices go with the files). Processes started with Command must be
// stopped first. Close is idempotent.
func (l *Lab) Close() {
	if l.closed.Swap(true) {
		return
	}
	l.mu.Lock()
	for _, ln := range l.listeners {
		ln.Close()
	}
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
	// Closing the files ends the switch's reads and deletes the devices.
	for _, f := range l.taps {
		f.Close()
	}
	if l.sw != nil {
		l.sw.close()
	}
	for _, n := range l.names {
		_ = exec.Command("ip", "netns", "delete", n).Run()
	}
}
