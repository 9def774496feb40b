package policies

import (
	"fmt"
	"strings"
)

// Error is one problem found in a policy file, located by its YAML path
// (e.g. "rule_sets.trade.constraints[1].rule") and, when known, its line and
// column in the source (1-based; 0 when unknown, e.g. for a policy built in
// code or decoded from canonical JSON without positions).
type Error struct {
	Path   string
	Line   int
	Column int
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Line > 0 && e.Column > 0:
		fmt.Fprintf(&b, "line %d:%d: ", e.Line, e.Column)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every error found in a policy, in source order. Parse returns
// it (as an error) when the policy is invalid.
type ErrorList []*Error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "policy: no errors"
	case 1:
		return "policy: " + l[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "policy: %d errors:", len(l))
	for _, e := range l {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// maxReportedErrors bounds the error list, so that a hostile file cannot make
// the checker build an unbounded report.
const maxReportedErrors = 200

// pos is a source position kept on model elements so that semantic errors
// found after decoding can still point at the right line.
type pos struct{ line, col int }

type errSink struct {
	list      ErrorList
	truncated bool
}

func (s *errSink) add(p pos, path, format string, args ...any) {
	if len(s.list) >= maxReportedErrors {
		s.truncated = true
		return
	}
	s.list = append(s.list, &Error{Path: path, Line: p.line, Column: p.col, Msg: fmt.Sprintf(format, args...)})
}

// result sorts the errors by position (stable, so errors at the same place
// keep the order they were found in) and returns nil when there are none.
func (s *errSink) result() error {
	if len(s.list) == 0 {
		return nil
	}
	out := make(ErrorList, len(s.list))
	copy(out, s.list)
	stableSortErrors(out)
	if s.truncated {
		out = append(out, &Error{Msg: fmt.Sprintf("more than %d errors; the rest are not reported", maxReportedErrors)})
	}
	return out
}

func stableSortErrors(l ErrorList) {
	// insertion sort: the list is bounded and nearly sorted.
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && less(l[j], l[j-1]); j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

func less(a, b *Error) bool {
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Column < b.Column
}
