package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestProgressPlainLines(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	if p.tty {
		t.Fatal("a buffer is not a terminal")
	}
	p.Step(1, 4, "node0 started")
	p.Step(1, 4, "node0 started") // unchanged: no new line
	p.Step(4, 4, "all started")
	if err := p.Run(context.Background(), "ceremony compliance", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), "job J", func() error { return errors.New("x") }); err == nil {
		t.Fatal("Run lost the error")
	}
	out := buf.String()
	for _, want := range []string{
		"[#####...............] 1/4 node0 started\n", "[####################] 4/4 all started\n",
		"ceremony compliance …\n", "ceremony compliance: done in", "job J: failed in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "node0 started") != 1 || strings.Contains(out, "\r") || strings.Contains(out, "\033") {
		t.Errorf("plain output carries repeats or terminal codes:\n%q", out)
	}
}

func TestProgressTerminalRewritesInPlace(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, tty: true}
	p.Step(1, 2, "a")
	p.Step(2, 2, "b")
	p.Println("finished")
	out := buf.String()
	if strings.Count(out, "\r\033[K") < 3 || !strings.HasSuffix(out, "finished\n") {
		t.Errorf("terminal output %q", out)
	}
}
