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
func XAdd(ctx context.Context, rdb *redis.Client, stream string, envelopes []string) error {
	pipe := rdb.Pipeline()
	for i, env := range envelopes {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"event", env}})
		if pipe.Len() == 500 || i == len(envelopes)-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// LPush pushes envelopes one by one, oldest first, exactly as the NEMO
// plugin does.
func LPush(ctx context.Context, rdb *redis.Client, list string, envelopes []string) error {
	pipe := rdb.Pipeline()
	for i, env := range envelopes {
		pipe.LPush(ctx, list, env)
		if pipe.Len() == 500 || i == len(envelopes)-1 {
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
