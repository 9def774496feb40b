package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress reports long CLI work: on a terminal, one line rewritten in place
// (a bar when the total is known, the elapsed time otherwise); on a pipe or a
// file, plain lines, one per change, so that logs stay readable.
type progress struct {
	w   io.Writer
	tty bool

	mu      sync.Mutex
	pending bool // a transient line is on screen (TTY only)
	last    string
	partial []byte // Write's unfinished line
}

func newProgress(w io.Writer) *progress { return &progress{w: w, tty: isTerminal(w)} }

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// bar draws done of total as a 20-cell bar.
func bar(done, total int) string {
	const cells = 20
	if total <= 0 {
		return ""
	}
	done = min(max(done, 0), total)
	n := done * cells / total
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", cells-n) + fmt.Sprintf("] %d/%d", done, total)
}

// Status shows msg as the current state: in place on a terminal, as a new
// line otherwise (only when it changed).
func (p *progress) Status(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if msg == p.last && !p.tty {
		return
	}
	p.last = msg
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", msg)
		p.pending = true
		return
	}
	fmt.Fprintln(p.w, msg)
}

// Step shows step done of total with a label.
func (p *progress) Step(done, total int, label string) {
	p.Status(bar(done, total) + " " + label)
}

// Println ends any transient line and prints a permanent one.
func (p *progress) Println(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending {
		fmt.Fprint(p.w, "\r\033[K")
		p.pending = false
	}
	p.last = ""
	fmt.Fprintln(p.w, msg)
}

// Run runs f while showing label with the elapsed time (updated in place on a
// terminal; a start line and an end line otherwise).
func (p *progress) Run(ctx context.Context, label string, f func() error) error {
	start := time.Now()
	if !p.tty {
		p.Println(label + " …")
		err := f()
		p.Println(fmt.Sprintf("%s: %s in %.1fs", label, outcome(err), time.Since(start).Seconds()))
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			p.Status(fmt.Sprintf("%s … %.0fs", label, time.Since(start).Seconds()))
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	err := f()
	cancel()
	<-done
	p.Println(fmt.Sprintf("%s: %s in %.1fs", label, outcome(err), time.Since(start).Seconds()))
	return err
}

func outcome(err error) string {
	if err != nil {
		return "failed"
	}
	return "done"
}

// Write lets long work log through the progress: each complete line is
// printed above the transient line instead of through it.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	p.partial = append(p.partial, b...)
	var lines []string
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, string(p.partial[:i]))
		p.partial = p.partial[i+1:]
	}
	p.mu.Unlock()
	for _, l := range lines {
		p.Println(l)
	}
	return len(b), nil
}

// Spin is Run on a terminal and plain f otherwise, for work whose caller
// already prints its own lines.
func (p *progress) Spin(ctx context.Context, label string, f func() error) error {
	if !p.tty {
		return f()
	}
	return p.Run(ctx, label, f)
}
