package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
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
	rdb   redis.UniversalClient
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

func newStateKeeper(rdb redis.UniversalClient, stream string, log *slog.Logger) *stateKeeper {
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

// doc is t as it was saved in Redis, if t is the state last saved for its
// tool, or nil.
func (k *stateKeeper) doc(t *statusv1.Tool) []byte {
	if k == nil || k.store == nil {
		return nil
	}
	return k.store.Doc(t)
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
	return k.store.Current(toolstate.KeyOf(ev))
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

// screen sets apart the events whose sequence Redis cannot have given, and
// returns the others, in order, with a refusal for each one set apart. The
// tool state keeps only sequences newer than the one it holds, so a forged
// event far ahead would hold a tool's state back from every real event.
//
// A sequence is the entry's stream id. It must read as one; without Redis
// (no state to protect) that is all. With Redis it must also not be ahead
// of what Redis can have given: Redis stamps an id with its clock, so an id
// within toolstate.StreamSlack of Redis's clock passes at no cost (see
// redisClock). One further ahead is still real when Redis's clock was set
// back, or an entry was added with an explicit id: it passes if the stream
// has an id at least as far. That costs one call to Redis for the batch,
// made only for such events, and the answer stands for the later ones.
//
// A named site's events come from the site's own Redis, which the router
// does not read: their sequences are checked for form only. One ahead of
// Redis's clock still cannot hold the tool back for long: the state yields
// a sequence beyond the clock's reach (toolstate's limit).
func (k *stateKeeper) screen(ctx context.Context, evs []*bridgev1.Event) ([]*bridgev1.Event, []*bridgev1.EventAck, error) {
	kept := make([]*bridgev1.Event, 0, len(evs))
	var refused []*bridgev1.EventAck
	refuse := func(ev *bridgev1.Event, reason string) {
		refused = append(refused, &bridgev1.EventAck{EventId: ev.GetId(), Outcome: bridgev1.Outcome_OUTCOME_REJECTED, Cause: bridgev1.Cause_CAUSE_IMPOSSIBLE_SEQUENCE, Reason: reason})
	}
	if k != nil {
		if err := k.wait(ctx); err != nil {
			return nil, nil, err
		}
	}
	read := false // whether the stream's last id was read for this batch
	for _, ev := range evs {
		seq := ev.GetSequence()
		if seq == "" { // the list and pub/sub have no sequence
			kept = append(kept, ev)
			continue
		}
		id, ok := streamid.Parse(seq)
		if !ok {
			refuse(ev, fmt.Sprintf("the event's sequence %q is not a Redis stream entry id (<milliseconds>-<number>), so it cannot come from Redis; refused so that it cannot disorder the tool state", seq))
			continue
		}
		if k == nil || ev.GetSite() != "" {
			kept = append(kept, ev)
			continue
		}
		now := k.clock.now()
		if !id.After(streamid.ID{Ms: uint64(now.Add(toolstate.StreamSlack).UnixMilli()), Seq: math.MaxUint64}) {
			kept = append(kept, ev)
			continue
		}
		last, unread := k.lastID()
		if id.After(last) && !read {
			if err := k.retry(ctx, "read the last id of stream "+k.stream, func() error { return k.readLastID(ctx) }); err != nil {
				return nil, nil, err
			}
			read = true
			last, unread = k.lastID()
		}
		if !id.After(last) {
			kept = append(kept, ev)
			continue
		}
		given := fmt.Sprintf("the last id Redis gave the stream %s (%s)", k.stream, last)
		if unread != nil {
			given = fmt.Sprintf("any id Redis gave the stream %s, which cannot be read (%v)", k.stream, unread)
		}
		refuse(ev, fmt.Sprintf("the event's sequence %s is ahead of Redis's clock (%s) and of %s, so it cannot come from Redis; refused so that it cannot hold the tool's state back from later events",
			seq, now.UTC().Format(time.RFC3339), given))
	}
	return kept, refused, nil
}

// lastID is the greatest id of the stream read so far, and Redis's answer
// when the last reading found no stream.
func (k *stateKeeper) lastID() (streamid.ID, error) {
	k.lastMu.Lock()
	defer k.lastMu.Unlock()
	return k.last, k.unread
}

// readLastID asks Redis for the last id it gave the stream (entries
// deleted since count too), and remembers it. Redis answering with an
// error (no such key, or not a stream: ingest reads another stream than
// -stream says) is not retried: the ids read before still count. Only
// failing to reach Redis is an error.
func (k *stateKeeper) readLastID(ctx context.Context) error {
	info, err := k.rdb.XInfoStream(ctx, k.stream).Result()
	var reply redis.Error
	if err != nil && !errors.As(err, &reply) {
		return err
	}
	k.lastMu.Lock()
	defer k.lastMu.Unlock()
	k.unread = err
	if err != nil {
		return nil
	}
	if last, ok := streamid.Parse(info.LastGeneratedID); ok && last.After(k.last) {
		k.last = last
	}
	return nil
}

// clockSync is how often the router reads Redis's clock again. Between
// readings it counts on its own monotonic clock, which drifts by far less
// than toolstate.StreamSlack in that time; reading again catches Redis's
// clock being set.
const clockSync = 15 * time.Second

// redisClock tells the time by Redis's clock, which stamps the stream's
// entry ids, without a call to Redis per event: it reads TIME now and then
// and adds the time passed since on the local monotonic clock. Until it
// has read TIME once, it tells the local time.
type redisClock struct {
	rdb  redis.UniversalClient
	read atomic.Pointer[clockReading]
}

type clockReading struct {
	redis time.Time // Redis's TIME
	local time.Time // time.Now() just after, with its monotonic reading
}

func (c *redisClock) now() time.Time {
	r := c.read.Load()
	if r == nil {
		return time.Now()
	}
	return r.redis.Add(time.Since(r.local))
}

func (c *redisClock) sync(ctx context.Context) error {
	t, err := c.rdb.Time(ctx).Result()
	if err != nil {
		return err
	}
	c.read.Store(&clockReading{redis: t, local: time.Now()})
	return nil
}

// follow reads Redis's clock every clockSync until ctx ends. Missing a
// reading is harmless: the last one still counts.
func (c *redisClock) follow(ctx context.Context, log *slog.Logger) {
	tick := time.NewTicker(clockSync)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if err := c.sync(ctx); err != nil && ctx.Err() == nil {
				log.Debug("cannot read Redis's clock; counting on from the last reading", "err", err)
			}
		case <-ctx.Done():
			return
		}
	}
}
