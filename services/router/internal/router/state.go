package router

import (
	"context"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
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
}

func newStateKeeper(rdb *redis.Client, log *slog.Logger) *stateKeeper {
	return &stateKeeper{rdb: rdb, log: log, ready: make(chan struct{})}
}

// open loads the state, retrying until Redis answers or ctx ends.
func (k *stateKeeper) open(ctx context.Context) {
	for {
		store, err := toolstate.Open(ctx, k.rdb)
		if err == nil {
			k.store = store
			close(k.ready)
			k.log.Info("tool state loaded")
			return
		}
		k.log.Warn("cannot load tool state from Redis; retrying", "err", err)
		select {
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
			return
		}
	}
}

// apply folds events into the state, retrying while Redis is away (which
// holds the stream back, as ingest cannot read then either). A nil keeper
// keeps no state.
func (k *stateKeeper) apply(ctx context.Context, evs []*bridgev1.Event) ([]*statusv1.Tool, error) {
	if k == nil {
		return make([]*statusv1.Tool, len(evs)), nil
	}
	select {
	case <-k.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	delay := 100 * time.Millisecond
	for {
		states, err := k.store.Apply(ctx, evs)
		if err == nil {
			return states, nil
		}
		k.log.Warn("cannot save tool state; retrying", "err", err, "retry_in", delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		delay = min(2*delay, 5*time.Second)
	}
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
	id, ok := toolstate.ToolID(ev)
	if !ok {
		return nil
	}
	return k.store.Current(id)
}

// after is the state of ev's tool after ev, computed from the state as it
// stands, with nothing stored: what a dry run shows. Without Redis there
// is none, as in routing.
func (k *stateKeeper) after(ev *bridgev1.Event) *statusv1.Tool {
	if k == nil {
		return nil
	}
	cur := k.current(ev)
	if next, ok := toolstate.Fold(cur, ev); ok {
		return next
	}
	return cur
}
