package relay

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// hop is an in-memory next hop: each Dial opens a fresh stream; the test
// decides which items get answered and when a stream breaks.
type hop struct {
	mu      sync.Mutex
	streams []*memStream
	dialed  chan *memStream
}

type memStream struct {
	ctx     context.Context
	mu      sync.Mutex
	sent    []string
	answers chan []string
	broken  chan struct{}
	once    sync.Once
}

func (s *memStream) Send(items []string) error {
	select {
	case <-s.broken:
		return errors.New("stream broken")
	default:
	}
	s.mu.Lock()
	s.sent = append(s.sent, items...)
	s.mu.Unlock()
	return nil
}

func (s *memStream) Recv() ([]string, error) {
	select {
	case a := <-s.answers:
		return a, nil
	case <-s.broken:
		return nil, io.ErrUnexpectedEOF
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
}

func (s *memStream) breakNow() { s.once.Do(func() { close(s.broken) }) }

func (s *memStream) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

func (h *hop) dial(ctx context.Context) (Stream[string, string], error) {
	s := &memStream{ctx: ctx, answers: make(chan []string, 16), broken: make(chan struct{})}
	h.mu.Lock()
	h.streams = append(h.streams, s)
	h.mu.Unlock()
	h.dialed <- s
	return s, nil
}

func newTestLink(t *testing.T, h *hop, results chan<- string) *Link[string, string] {
	t.Helper()
	l := NewLink(LinkConfig[string, string]{
		Name:     "test hop",
		Dial:     h.dial,
		ItemID:   func(s string) string { return s },
		ResultID: func(s string) string { return s },
		OnResult: func(item, _ string) { results <- item },
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

func items(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

func TestUnansweredItemsAreResentInOrderBeforeNewOnes(t *testing.T) {
	h := &hop{dialed: make(chan *memStream, 4)}
	results := make(chan string, 100)
	l := newTestLink(t, h, results)
	first := <-h.dialed

	l.Submit(items(0, 10))
	first.answers <- items(0, 3) // the hop settles 0..2, then dies
	for range 3 {
		<-results
	}
	first.breakNow()
	l.Submit(items(10, 12)) // submitted while the link is down or reconnecting

	second := <-h.dialed
	waitFor(t, func() bool { return len(second.received()) >= 9 })
	if got, want := second.received(), items(3, 12); !slices.Equal(got, want) {
		t.Fatalf("second stream received %v, want the 7 unanswered items then the 2 new ones: %v", got, want)
	}
	second.answers <- items(3, 12)
	second.answers <- items(3, 5) // a resend's twin answer must not be reported twice
	var got []string
	for range 9 {
		got = append(got, <-results)
	}
	slices.SortFunc(got, func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y })
	if !slices.Equal(got, items(3, 12)) {
		t.Fatalf("results %v", got)
	}
	select {
	case extra := <-results:
		t.Fatalf("item %s reported twice", extra)
	case <-time.After(100 * time.Millisecond):
	}
	if err := l.WaitIdle(context.Background()); err != nil || l.Pending() != 0 {
		t.Fatalf("pending %d after every item was answered", l.Pending())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Withdrawn items come back in the order they were submitted, across
// Submit calls; a later answer for one is not reported, and the link's
// next stream resends only what was not withdrawn.
func TestWithdrawnItemsComeBackInOrderAndAreNeverResent(t *testing.T) {
	// Unbuffered: the next stream opens only once the test takes it,
	// after the withdrawal.
	h := &hop{dialed: make(chan *memStream)}
	results := make(chan string, 100)
	l := newTestLink(t, h, results)
	first := <-h.dialed

	l.Submit(items(0, 7))
	l.Submit(items(7, 12))
	l.Submit(items(12, 20))
	waitFor(t, func() bool { return len(first.received()) == 20 })
	first.breakNow()

	even := func(s string) bool { n, _ := strconv.Atoi(s); return n%2 == 0 }
	got := l.Withdraw(even)
	want := []string{"0", "2", "4", "6", "8", "10", "12", "14", "16", "18"}
	if !slices.Equal(got, want) {
		t.Fatalf("withdrew %v, want %v", got, want)
	}
	if n := l.Pending(); n != 10 {
		t.Fatalf("%d pending after withdrawing 10 of 20", n)
	}
	if again := l.Withdraw(even); len(again) != 0 {
		t.Fatalf("withdrew %v a second time", again)
	}

	second := <-h.dialed
	second.answers <- []string{"4", "6"} // late answers for withdrawn items
	waitFor(t, func() bool { return len(second.received()) >= 10 })
	odd := []string{"1", "3", "5", "7", "9", "11", "13", "15", "17", "19"}
	if got := second.received(); !slices.Equal(got, odd) {
		t.Fatalf("the next stream received %v, want only the items not withdrawn: %v", got, odd)
	}
	second.answers <- odd
	var answered []string
	for range 10 {
		answered = append(answered, <-results)
	}
	for _, id := range answered {
		if even(id) {
			t.Fatalf("withdrawn item %s was reported answered", id)
		}
	}
	select {
	case extra := <-results:
		t.Fatalf("item %s reported after every item not withdrawn was", extra)
	case <-time.After(100 * time.Millisecond):
	}
	if err := l.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Withdrawing the last pending items makes the link idle.
func TestWithdrawingEverythingMakesTheLinkIdle(t *testing.T) {
	h := &hop{dialed: make(chan *memStream, 4)}
	l := newTestLink(t, h, make(chan string, 10))
	<-h.dialed
	l.Submit(items(0, 3))
	idle := make(chan error, 1)
	go func() { idle <- l.WaitIdle(context.Background()) }()
	if got := l.Withdraw(func(string) bool { return true }); !slices.Equal(got, items(0, 3)) {
		t.Fatalf("withdrew %v", got)
	}
	select {
	case err := <-idle:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WaitIdle did not return once everything was withdrawn")
	}
}

// Items abandoned while no Run runs are not resent by the next one, and
// nothing counts as pending any more.
func TestAbandonedItemsAreNotResent(t *testing.T) {
	h := &hop{dialed: make(chan *memStream, 4)}
	results := make(chan string, 100)
	l := NewLink(LinkConfig[string, string]{
		Name: "test hop", Dial: h.dial,
		ItemID: func(s string) string { return s }, ResultID: func(s string) string { return s },
		OnResult: func(item, _ string) { results <- item },
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	run := func() (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = l.Run(ctx) }()
		return func() { cancel(); <-done }
	}
	stop := run()
	first := <-h.dialed
	l.Submit(items(0, 5))
	waitFor(t, func() bool { return len(first.received()) == 5 })
	stop()
	if n := l.Abandon(); n != 5 || l.Pending() != 0 {
		t.Fatalf("abandoned %d, %d still pending; want 5 and 0", n, l.Pending())
	}
	if err := l.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop = run()
	defer stop()
	second := <-h.dialed
	l.Submit(items(5, 7))
	waitFor(t, func() bool { return len(second.received()) >= 2 })
	if got := second.received(); !slices.Equal(got, items(5, 7)) {
		t.Fatalf("the next stream received %v, want only the new items %v", got, items(5, 7))
	}
}
