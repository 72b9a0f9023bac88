package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Every wait lies in [step/2, step], the step doubling from min to max.
func TestNextJitterAndCap(t *testing.T) {
	b := New(100*time.Millisecond, time.Second)
	steps := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for round := 0; round < 200; round++ {
		b.Reset()
		for i, s := range steps {
			step := s * time.Millisecond
			if d := b.Next(); d < step/2 || d > step {
				t.Fatalf("wait %d is %v, want within [%v, %v]", i, d, step/2, step)
			}
		}
	}
}

// The waits differ: jitter is really there.
func TestNextJitters(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[New(time.Second, time.Second).Next()] = true
	}
	if len(seen) < 10 {
		t.Fatalf("50 waits gave only %d distinct values", len(seen))
	}
}

func TestResetStartsAgainFromMin(t *testing.T) {
	b := New(10*time.Millisecond, time.Hour)
	for range 20 {
		b.Next()
	}
	b.Reset()
	if d := b.Next(); d > 10*time.Millisecond {
		t.Fatalf("first wait after Reset is %v, want at most min", d)
	}
}

func TestNewRefusesNonsense(t *testing.T) {
	for _, c := range [][2]time.Duration{{0, time.Second}, {-1, time.Second}, {time.Second, time.Millisecond}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%v, %v) did not panic", c[0], c[1])
				}
			}()
			New(c[0], c[1])
		}()
	}
}

func TestSleepReturnsWhenCtxEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep said %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Sleep took %v after cancel", el)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatalf("Sleep said %v, want nil", err)
	}
}

func TestRetryUntilSuccess(t *testing.T) {
	b := New(time.Millisecond, 4*time.Millisecond)
	calls, fails := 0, 0
	err := Retry(context.Background(), b, func() error {
		calls++
		if calls < 4 {
			return errors.New("down")
		}
		return nil
	}, func(err error, wait time.Duration) {
		fails++
		if wait <= 0 || wait > 4*time.Millisecond {
			t.Errorf("wait %v out of bounds", wait)
		}
	})
	if err != nil || calls != 4 || fails != 3 {
		t.Fatalf("err %v, calls %d, fails %d; want nil, 4, 3", err, calls, fails)
	}
	if b.cur != 0 {
		t.Fatal("Retry did not reset the backoff after success")
	}
}

func TestRetryReturnsPromptlyWhenCtxEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	err := Retry(ctx, New(time.Hour, time.Hour), func() error { return errors.New("down") }, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Retry said %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Retry took %v after cancel", el)
	}
}

// A failure that is only ctx ending is the shutdown: not reported.
func TestRetryKeepsShutdownQuiet(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	err := Retry(ctx, New(time.Millisecond, time.Millisecond), func() error {
		cancel()
		return context.Canceled
	}, func(error, time.Duration) { t.Error("onFail heard the shutdown") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Retry said %v, want context.Canceled", err)
	}
}
