package console

import (
	"fmt"
	"strconv"
	"strings"
)

// Chart is an SVG chart computed on the server: the template only places
// numbers, so the page needs no script.
type Chart struct {
	W, H           int
	Line           string // polyline points, "x,y x,y …"
	Bars           []Bar
	YMin, YMax     string
	XFirst, XLast  string
	Empty          bool
	Title, Caption string
}

// Bar is one bar of a bar chart.
type Bar struct {
	X, Y, W, H int
	Label      string // tooltip
}

const (
	chartW, chartH = 640, 160
	padL, padB     = 40, 18
)

// scale maps v in [lo, hi] to a pixel row (top is 0).
func scale(v, lo, hi int64) int {
	if hi == lo {
		return (chartH - padB) / 2
	}
	return int((hi-v)*int64(chartH-padB-8)/(hi-lo)) + 4
}

// lineChart draws ys against xs (both ascending in x) as a step line.
func lineChart(title string, xs, ys []int64, caption string) Chart {
	c := Chart{W: chartW, H: chartH, Title: title, Caption: caption}
	if len(xs) == 0 {
		c.Empty = true
		return c
	}
	lo, hi := ys[0], ys[0]
	for _, y := range ys {
		lo, hi = min(lo, y), max(hi, y)
	}
	if lo > 0 && hi-lo < hi/10 {
		lo = max(0, lo-hi/10)
	}
	x0, x1 := xs[0], xs[len(xs)-1]
	px := func(x int64) int {
		if x1 == x0 {
			return padL + (chartW-padL)/2
		}
		return padL + int((x-x0)*int64(chartW-padL-4)/(x1-x0))
	}
	var pts []string
	for i := range xs {
		if i > 0 { // step: hold the previous value until this x
			pts = append(pts, fmt.Sprintf("%d,%d", px(xs[i]), scale(ys[i-1], lo, hi)))
		}
		pts = append(pts, fmt.Sprintf("%d,%d", px(xs[i]), scale(ys[i], lo, hi)))
	}
	if len(xs) == 1 {
		pts = append(pts, fmt.Sprintf("%d,%d", chartW-4, scale(ys[0], lo, hi)))
	}
	c.Line = strings.Join(pts, " ")
	c.YMin, c.YMax = strconv.FormatInt(lo, 10), strconv.FormatInt(hi, 10)
	c.XFirst, c.XLast = strconv.FormatInt(x0, 10), strconv.FormatInt(x1, 10)
	return c
}

// barChart draws one bar per value; labels name the x of each bar.
func barChart(title string, labels []string, ys []int64, caption string) Chart {
	c := Chart{W: chartW, H: chartH, Title: title, Caption: caption}
	if len(ys) == 0 {
		c.Empty = true
		return c
	}
	hi := int64(1)
	for _, y := range ys {
		hi = max(hi, y)
	}
	w := (chartW - padL - 4) / len(ys)
	for i, y := range ys {
		top := scale(y, 0, hi)
		base := scale(0, 0, hi)
		c.Bars = append(c.Bars, Bar{X: padL + i*w, Y: top, W: max(w-1, 1), H: max(base-top, 0),
			Label: fmt.Sprintf("%s: %d", labels[i], y)})
	}
	c.YMin, c.YMax = "0", strconv.FormatInt(hi, 10)
	c.XFirst, c.XLast = labels[0], labels[len(labels)-1]
	return c
}
