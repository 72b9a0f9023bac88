package harness

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// TestEvent is a NEMO-like event whose payload carries a per-tool sequence
// number, so that order and completeness can be checked.
type TestEvent struct {
	ToolID int `json:"tool_id"`
	Seq    int `json:"seq"`
}

// Envelope is the event as the NEMO plugin writes it: payload as a JSON
// string inside the envelope.
func (e TestEvent) Envelope() string {
	payload := e.Payload()
	env, _ := json.Marshal(map[string]any{
		"topic":     e.Topic(),
		"payload":   string(payload),
		"qos":       1,
		"retain":    false,
		"timestamp": 1760468411.106,
	})
	return string(env)
}

// Fields is the envelope written as a stream entry's fields instead of
// JSON in field "event"; Redis keeps every value as a string.
func (e TestEvent) Fields() []any {
	return []any{"topic", e.Topic(), "payload", string(e.Payload()), "qos", "1", "retain", "false", "timestamp", "1760468411.106"}
}

// Payload is what the subscriber must receive, byte for byte.
func (e TestEvent) Payload() []byte {
	p, _ := json.Marshal(map[string]any{"event": "tool_enabled", "tool_id": e.ToolID, "seq": e.Seq, "user_name": "Test User"})
	return p
}

// Topic is the event's topic.
func (e TestEvent) Topic() string { return fmt.Sprintf("nemo/tools/%d/enabled", e.ToolID) }

// Events returns n events spread round-robin over tools, numbered per tool
// from first.
func Events(n, tools, first int) []TestEvent {
	out := make([]TestEvent, n)
	for i := range out {
		out[i] = TestEvent{ToolID: i % tools, Seq: first + i/tools}
	}
	return out
}

// XAdd writes envelopes to the stream in field "event", as NEMO does.
func XAdd(ctx context.Context, rdb redis.UniversalClient, stream string, envelopes []string) error {
	return inBatches(ctx, rdb, len(envelopes), func(pipe redis.Pipeliner, i int) {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"event", envelopes[i]}})
	})
}

// XAddFields writes entries whose fields are the envelope's keys.
func XAddFields(ctx context.Context, rdb redis.UniversalClient, stream string, entries [][]any) error {
	return inBatches(ctx, rdb, len(entries), func(pipe redis.Pipeliner, i int) {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: entries[i]})
	})
}

// LPush pushes envelopes one by one, oldest first, exactly as the NEMO
// plugin does.
func LPush(ctx context.Context, rdb redis.UniversalClient, list string, envelopes []string) error {
	return inBatches(ctx, rdb, len(envelopes), func(pipe redis.Pipeliner, i int) {
		pipe.LPush(ctx, list, envelopes[i])
	})
}

// Publish sends envelopes on a pub/sub channel, as sites that publish
// instead of pushing do.
func Publish(ctx context.Context, rdb redis.UniversalClient, channel string, envelopes []string) error {
	return inBatches(ctx, rdb, len(envelopes), func(pipe redis.Pipeliner, i int) {
		pipe.Publish(ctx, channel, envelopes[i])
	})
}

// inBatches queues n commands in a pipeline and sends them 500 at a time:
// one round trip per batch keeps writing 10,000 events well under a
// second, and a bounded batch keeps Redis's reply buffer small.
func inBatches(ctx context.Context, rdb redis.UniversalClient, n int, add func(pipe redis.Pipeliner, i int)) error {
	pipe := rdb.Pipeline()
	for i := range n {
		add(pipe, i)
		if pipe.Len() == 500 || i == n-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// Envelopes of events.
func Envelopes(evs []TestEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Envelope()
	}
	return out
}
