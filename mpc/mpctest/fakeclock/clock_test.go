package fakeclock

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestAdvanceFiresDueTimersInOrder(t *testing.T) {
	start := time.Unix(1000, 0)
	c := New(start)
	var fired []string
	c.AfterFunc(3*time.Second, func() { fired = append(fired, "3s") })
	c.AfterFunc(time.Second, func() {
		fired = append(fired, "1s")
		// Armed from a callback, due within the same Advance: fires in it.
		c.AfterFunc(time.Second, func() { fired = append(fired, "1s+1s") })
	})
	stop := c.AfterFunc(2*time.Second, func() { fired = append(fired, "stopped") })
	c.AfterFunc(10*time.Second, func() { fired = append(fired, "10s") })
	if !stop() || stop() {
		t.Fatal("stop must report true once, then false")
	}
	if got := c.Remaining(); !slices.Equal(got, []time.Duration{time.Second, 3 * time.Second, 10 * time.Second}) {
		t.Fatalf("remaining %v", got)
	}
	c.Advance(3 * time.Second)
	if want := []string{"1s", "1s+1s", "3s"}; !slices.Equal(fired, want) {
		t.Fatalf("fired %v, want %v", fired, want)
	}
	if !c.Now().Equal(start.Add(3*time.Second)) || c.Pending() != 1 {
		t.Fatalf("now %v, %d pending", c.Now(), c.Pending())
	}
	c.Advance(6 * time.Second)
	if len(fired) != 3 {
		t.Fatalf("10s timer fired at 9s")
	}
	c.Advance(time.Second)
	if fired[len(fired)-1] != "10s" || c.Pending() != 0 {
		t.Fatalf("fired %v, %d pending", fired, c.Pending())
	}
}

func TestWaitPendingSeesTimerArmedByAnotherGoroutine(t *testing.T) {
	c := New(time.Unix(0, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	woke := make(chan struct{})
	go func() {
		w := make(chan struct{})
		c.AfterFunc(time.Minute, func() { close(w) })
		<-w
		close(woke)
	}()
	if err := c.WaitPending(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	select {
	case <-woke:
	case <-ctx.Done():
		t.Fatal("goroutine not released by Advance")
	}
	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	if err := c.WaitPending(short, 1); err == nil {
		t.Fatal("WaitPending returned nil with no timer armed and a cancelled context")
	}
}
