// Package relay carries batches over the long-lived gRPC streams between the
// pipeline's hops. A Link is the sending side: it keeps one stream to the
// next hop open, remembers every item until the next hop answers for it, and
// when the stream breaks (the next hop restarted, the network blipped) it
// opens a new one and resends the unanswered items, oldest first, before
// anything new. That is what makes delivery at-least-once and keeps items in
// the order they were submitted.
package relay

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/backoff"
)

// Stream is one open stream to the next hop.
type Stream[T, R any] interface {
	Send(items []T) error
	Recv() ([]R, error)
}

// Dial opens a stream; the stream lives until ctx is cancelled.
type Dial[T, R any] func(ctx context.Context) (Stream[T, R], error)

// LinkConfig says how to open streams and how to match answers to items.
type LinkConfig[T, R any] struct {
	Name     string // the next hop, for logs
	Dial     Dial[T, R]
	ItemID   func(T) string
	ResultID func(R) string
	// OnResult is called once for each submitted item, with its answer.
	OnResult func(item T, result R)
	// MaxBatch bounds the items of one message when resending.
	MaxBatch int
	Log      *slog.Logger
	// OnConnected reports whether a stream is open, for health and metrics.
	OnConnected func(bool)
}

// maxRedial is the longest wait between two attempts to open a stream. An
// attempt while the connection below is down fails at once without
// touching the network (the connection redials by itself, also within
// about 2 s: service.DialPeer), so attempts this often cost nothing.
const maxRedial = 2 * time.Second

// Link is safe for concurrent use.
type Link[T, R any] struct {
	cfg LinkConfig[T, R]

	// sendMu orders everything written to the stream: a resend after a
	// reconnect holds it, so that new items always go after older ones.
	sendMu sync.Mutex
	stream Stream[T, R] // nil while no stream is open
	broken func()       // cancels the open stream

	mu      sync.Mutex // guards pending and seq; never held during I/O
	pending map[string]pendingItem[T]
	seq     uint64
	idle    chan struct{} // closed and replaced whenever pending becomes empty
}

type pendingItem[T any] struct {
	seq  uint64
	item T
}

// NewLink returns a link; call Run to open its streams.
func NewLink[T, R any](cfg LinkConfig[T, R]) *Link[T, R] {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.OnConnected == nil {
		cfg.OnConnected = func(bool) {}
	}
	return &Link[T, R]{cfg: cfg, pending: map[string]pendingItem[T]{}, idle: make(chan struct{})}
}

// Submit hands items to the next hop. It returns once they are written to
// the open stream, or straight away when none is open (they go out when one
// opens). It blocks while the next hop applies flow control: that is how
// backpressure travels upstream.
func (l *Link[T, R]) Submit(items []T) {
	if len(items) == 0 {
		return
	}
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	l.mu.Lock()
	for _, it := range items {
		l.seq++
		l.pending[l.cfg.ItemID(it)] = pendingItem[T]{seq: l.seq, item: it}
	}
	l.mu.Unlock()
	if l.stream == nil {
		return
	}
	if err := l.stream.Send(items); err != nil {
		l.cfg.Log.Warn("stream to next hop broke while sending; unanswered items will be resent", "to", l.cfg.Name, "err", err)
		l.broken()
		l.stream = nil
	}
}

// Withdraw takes back the pending items that match, in the order they
// were submitted, as if they had never been: no later stream of this
// link carries them, and an answer for one that arrives afterwards is
// ignored (OnResult is not called for it). The caller may then hand them
// to another hop. It waits for a send or a resend in progress to end, so
// it never takes an item back halfway through one; an item already
// written to an open stream may still be acted on by the next hop, so
// withdraw from a link whose next hop is gone.
func (l *Link[T, R]) Withdraw(match func(T) bool) []T {
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []pendingItem[T]
	for id, p := range l.pending {
		if match(p.item) {
			out = append(out, p)
			delete(l.pending, id)
		}
	}
	if len(out) > 0 && len(l.pending) == 0 {
		close(l.idle)
		l.idle = make(chan struct{})
	}
	slices.SortFunc(out, func(a, b pendingItem[T]) int { return compareSeq(a.seq, b.seq) })
	items := make([]T, len(out))
	for i, p := range out {
		items[i] = p.item
	}
	return items
}

// Pending is the number of items submitted and not yet answered.
func (l *Link[T, R]) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// Abandon forgets every pending item, unanswered, and returns how many
// there were: for a caller that hands them to another process instead (an
// ingest that lost its lease leaves its entries pending in Redis for the
// next holder), so that the next Run does not resend them. Call it only
// while Run is not running.
func (l *Link[T, R]) Abandon() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.pending)
	l.pending = map[string]pendingItem[T]{}
	if n > 0 {
		close(l.idle)
		l.idle = make(chan struct{})
	}
	return n
}

// WaitIdle blocks until nothing is pending or ctx is done.
func (l *Link[T, R]) WaitIdle(ctx context.Context) error {
	for {
		l.mu.Lock()
		n, idle := len(l.pending), l.idle
		l.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Run keeps a stream open until ctx is cancelled, reconnecting with backoff.
// The wait between two attempts stays under maxRedial, whatever the
// outage's length, so that the stream is open again within seconds once
// the next hop is back.
func (l *Link[T, R]) Run(ctx context.Context) error {
	wait := backoff.New(100*time.Millisecond, maxRedial)
	for ctx.Err() == nil {
		err := l.session(ctx)
		l.cfg.OnConnected(false)
		if ctx.Err() != nil {
			break
		}
		delay := wait.Next()
		if err == nil {
			wait.Reset()
		}
		l.cfg.Log.Warn("stream to next hop closed; reconnecting", "to", l.cfg.Name, "err", err, "retry_in", delay, "pending", l.Pending())
		_ = backoff.Sleep(ctx, delay) // ctx's end is seen by the loop
	}
	return ctx.Err()
}

// session opens one stream, resends what is pending and reads answers until
// the stream ends.
func (l *Link[T, R]) session(ctx context.Context) error {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := l.cfg.Dial(streamCtx)
	if err != nil {
		return err
	}
	recvDone := make(chan error, 1)
	go func() { recvDone <- l.receive(s) }()

	l.sendMu.Lock()
	if err := l.resend(s); err != nil {
		l.sendMu.Unlock()
		return err
	}
	l.stream, l.broken = s, cancel
	l.sendMu.Unlock()
	l.cfg.OnConnected(true)
	l.cfg.Log.Info("stream to next hop open", "to", l.cfg.Name)

	err = <-recvDone
	l.sendMu.Lock()
	if l.stream == s {
		l.stream = nil
	}
	l.sendMu.Unlock()
	return err
}

// resend writes every pending item, oldest first. Caller holds sendMu.
func (l *Link[T, R]) resend(s Stream[T, R]) error {
	l.mu.Lock()
	all := make([]pendingItem[T], 0, len(l.pending))
	for _, p := range l.pending {
		all = append(all, p)
	}
	l.mu.Unlock()
	if len(all) == 0 {
		return nil
	}
	slices.SortFunc(all, func(a, b pendingItem[T]) int { return compareSeq(a.seq, b.seq) })
	l.cfg.Log.Info("resending unanswered items", "to", l.cfg.Name, "count", len(all))
	for batch := range slices.Chunk(all, l.cfg.MaxBatch) {
		items := make([]T, len(batch))
		for i, p := range batch {
			items[i] = p.item
		}
		if err := s.Send(items); err != nil {
			return err
		}
	}
	return nil
}

func (l *Link[T, R]) receive(s Stream[T, R]) error {
	for {
		results, err := s.Recv()
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		for _, r := range results {
			l.answer(r)
		}
	}
}

func (l *Link[T, R]) answer(r R) {
	id := l.cfg.ResultID(r)
	l.mu.Lock()
	p, ok := l.pending[id]
	delete(l.pending, id)
	if ok && len(l.pending) == 0 {
		close(l.idle)
		l.idle = make(chan struct{})
	}
	l.mu.Unlock()
	if ok { // an answer for an item already answered (a resend's twin) is dropped
		l.cfg.OnResult(p.item, r)
	}
}

func compareSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
