package router

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/streamid"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/toolstate"
)

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
		if k == nil {
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
