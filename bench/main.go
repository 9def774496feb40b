package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Results maps a figure's name to its value.
type Results map[string]float64

// suiteFunc runs one suite. progress receives human-readable progress lines.
type suiteFunc func(ctx context.Context, progress io.Writer) (Results, error)

// suites lists every suite in the order `-suite all` runs them.
func suites() []struct {
	name string
	run  suiteFunc
} {
	return []struct {
		name string
		run  suiteFunc
	}{
		{"ledger", runLedgerSuite},
		{"ss", runSSSuite},
		{"he", runHESuite},
		{"zk", runZKSuite},
		{"e2e", runE2ESuite},
		{"trace", runTraceSuite},
	}
}

func main() {
	suite := flag.String("suite", "all", "suite to run: all, or one of "+strings.Join(suiteNames(), ", "))
	out := flag.String("out", "", "also write the JSON result to this file")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *suite, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func suiteNames() []string {
	var names []string
	for _, s := range suites() {
		names = append(names, s.name)
	}
	return names
}

func run(ctx context.Context, which, out string) error {
	merged := make(map[string]any)
	var failed []string
	var selected []string
	for _, s := range suites() {
		if which == "all" || which == s.name {
			selected = append(selected, s.name)
		}
	}
	ran := false
	for _, s := range suites() {
		if which != "all" && which != s.name {
			continue
		}
		ran = true
		// Progress: which suite of how many (the suites print their own
		// steps as plain lines on the same stream).
		fmt.Fprintf(os.Stderr, "== suite %s [%d/%d]\n", s.name, slices.Index(selected, s.name)+1, len(selected))
		start := time.Now()
		res, err := s.run(ctx, os.Stderr)
		if err != nil {
			if which != "all" {
				return err
			}
			// One suite's failure must not hide the others' figures.
			fmt.Fprintf(os.Stderr, "suite %s failed: %v\n", s.name, err)
			merged[s.name+".error"] = err.Error()
			failed = append(failed, s.name)
			continue
		}
		for k, v := range res {
			merged[k] = v
		}
		// Suites share the process: collect the finished suite's garbage so
		// that the next one's figures do not pay for it.
		runtime.GC()
		debug.FreeOSMemory()
		fmt.Fprintf(os.Stderr, "== suite %s done in %.1fs (%d goroutines left)\n", s.name, time.Since(start).Seconds(), runtime.NumGoroutine())
	}
	if !ran {
		return fmt.Errorf("unknown suite %q (have %s)", which, strings.Join(suiteNames(), ", "))
	}
	enc, err := json.MarshalIndent(merged, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	fmt.Println(string(enc))
	if out != "" {
		if err := os.WriteFile(out, append(enc, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", out, err)
		}
		printTable(os.Stderr, merged)
	}
	if len(failed) > 0 {
		return fmt.Errorf("suites failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

func printTable(w io.Writer, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := m[k].(type) {
		case float64:
			fmt.Fprintf(w, "%-36s %14.4g\n", k, v)
		default:
			fmt.Fprintf(w, "%-36s %v\n", k, v)
		}
	}
}
