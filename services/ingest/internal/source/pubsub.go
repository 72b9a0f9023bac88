package source

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/redis/go-redis/v9"
)

// PubSub reads a Redis channel. It is best effort: a message published while
// ingest is down, or while it waits for the broker and its buffer is full,
// is lost. Use the stream or the list when every event matters.
//
// A message's id is "pubsub-", a random id of this run, "-" and its number
// in the run: a channel keeps nothing, so no message is ever delivered
// again and there is no redelivery to keep an id for; the run id keeps a
// restarted or second ingest from handing out the ids of another.
type PubSub struct {
	sub     *redis.PubSub
	ch      <-chan *redis.Message
	channel string
	run     string
	seq     uint64
}

func NewPubSub(ctx context.Context, rdb redis.UniversalClient, channel string) *PubSub {
	sub := rdb.Subscribe(ctx, channel)
	return &PubSub{sub: sub, ch: sub.Channel(redis.WithChannelSize(10000)), channel: channel, run: runID()}
}

// runID is 64 random bits in hex: runs of ingest collide with a chance of
// about one in 10^19 per pair.
func runID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand aborts the program instead
	return hex.EncodeToString(b[:])
}

func (p *PubSub) Name() string { return records.InputName(p.Input()) }

func (p *PubSub) Input() *statusv1.Input { return records.ChannelInput(p.channel) }

func (p *PubSub) Read(ctx context.Context, max int) ([]Entry, error) {
	var out []Entry
	select {
	case m := <-p.ch:
		out = append(out, p.entry(m))
	case <-time.After(ReadWait):
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for len(out) < max {
		select {
		case m := <-p.ch:
			out = append(out, p.entry(m))
		default:
			return out, nil
		}
	}
	return out, nil
}

func (p *PubSub) entry(m *redis.Message) Entry {
	p.seq++
	return jsonEntry("pubsub-"+p.run+"-"+strconv.FormatUint(p.seq, 10), m.Payload)
}

// Ack has nothing to do: a channel keeps no record of what was read.
func (p *PubSub) Ack(context.Context, []Entry) error { return nil }

// Close unsubscribes.
func (p *PubSub) Close() error { return p.sub.Close() }
