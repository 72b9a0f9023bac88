package router

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/backoff"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/streamid"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/toolstate"
)

// stateKeeper opens the tool state once Redis answers and holds routing
// back until then: publishing a snapshot built on state not yet loaded would
// show displays a wrong picture.
type stateKeeper struct {
	rdb   *redis.Client
	log   *slog.Logger
	ready chan struct{}
	store *toolstate.Store
	clock *redisClock
	// stream is the stream ingest reads; the last id Redis gave it bounds
	// the sequences of real events (see screen).
	stream string
	lastMu sync.Mutex
	last   streamid.ID
	unread error
}

func newStateKeeper(rdb *redis.Client, stream string, log *slog.Logger) *stateKeeper {
	return &stateKeeper{rdb: rdb, log: log, ready: make(chan struct{}), clock: &redisClock{rdb: rdb}, stream: stream}
}

// open reads Redis's clock and loads the state, retrying until Redis
// answers or ctx ends, then keeps the clock in step until ctx ends.
func (k *stateKeeper) open(ctx context.Context) {
	err := backoff.Retry(ctx, backoff.New(2*time.Second, 2*time.Second), func() (err error) {
		if err = k.clock.sync(ctx); err == nil {
			k.store, err = toolstate.Open(ctx, k.rdb, k.clock.now)
		}
		return err
	}, func(err error, wait time.Duration) {
		k.log.Warn("cannot load tool state from Redis; retrying", "err", err, "retry_in", wait)
	})
	if err != nil {
		return
	}
	close(k.ready)
	k.log.Info("tool state loaded")
	k.clock.follow(ctx, k.log)
}

// wait waits until the state is loaded.
func (k *stateKeeper) wait(ctx context.Context) error {
	select {
	case <-k.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retry runs f until it succeeds or ctx ends, waiting longer each time:
// while Redis is away the stream is held back, as ingest cannot read then
// either.
func (k *stateKeeper) retry(ctx context.Context, what string, f func() error) error {
	return backoff.Retry(ctx, backoff.New(100*time.Millisecond, 5*time.Second), f, func(err error, wait time.Duration) {
		k.log.Warn("cannot "+what+"; retrying", "err", err, "retry_in", wait)
	})
}

// apply folds events into the state, retrying while Redis is away. A nil
// keeper keeps no state.
func (k *stateKeeper) apply(ctx context.Context, evs []*bridgev1.Event) ([]*statusv1.Tool, error) {
	if k == nil {
		return make([]*statusv1.Tool, len(evs)), nil
	}
	if err := k.wait(ctx); err != nil {
		return nil, err
	}
	var states []*statusv1.Tool
	err := k.retry(ctx, "save tool state", func() error {
		var err error
		states, err = k.store.Apply(ctx, evs)
		return err
	})
	return states, err
}

// current is the state of ev's tool as it stands, without ev, or nil: no
// tool, no state kept, or the state not loaded yet.
func (k *stateKeeper) current(ev *bridgev1.Event) *statusv1.Tool {
	if k == nil {
		return nil
	}
	select {
	case <-k.ready:
	default:
		return nil
	}
	if ev.ToolId == nil {
		return nil
	}
	return k.store.Current(ev.GetToolId())
}

// after is the state of ev's tool after ev, computed from the state as it
// stands, with nothing stored: what a dry run shows. Without Redis there
// is none, as in routing.
func (k *stateKeeper) after(ev *bridgev1.Event) *statusv1.Tool {
	if k == nil {
		return nil
	}
	cur := k.current(ev)
	if next, ok := toolstate.Fold(cur, ev, k.clock.now()); ok {
		return next
	}
	return cur
}
