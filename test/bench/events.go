package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// spread puts event i on tool i mod tools.
func spread(tools int) func(int) int { return func(i int) int { return i % tools } }

// nemoStream is NEMO's stream, which the bridge's ingest reads.
const nemoStream = "nemo:events"

// writeEvents writes events from..to-1 in the NEMO plugin's envelope,
// event i for tool toolOf(i), to NEMO's stream.
func writeEvents(ctx context.Context, rdb *redis.Client, w workload, from, to int, toolOf func(int) int) error {
	return writeEventsTo(ctx, rdb, nemoStream, w, from, to, toolOf)
}

// writeEventsTo is writeEvents to another stream. In the latency phase the
// events are a burst, handed over now, before the first is built.
func writeEventsTo(ctx context.Context, rdb *redis.Client, stream string, w workload, from, to int, toolOf func(int) int) error {
	burst := int64(0)
	if w.stampBursts {
		burst = time.Now().UnixNano()
	}
	pipe := rdb.Pipeline()
	for i := from; i < to; i++ {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"event", envelope(w, i, toolOf(i), burst)}})
		if pipe.Len() == 1000 || i == to-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				return fmt.Errorf("write events: %w", err)
			}
		}
	}
	return nil
}

// envelope is event i for tool in NEMO's envelope, of the burst handed
// over at burstNS (0: none), asking for the workload's QoS, its payload
// padded to the workload's size.
func envelope(w workload, i, tool int, burstNS int64) string {
	payload := w.payload(tool, i, time.Now().UnixNano(), burstNS)
	env, _ := json.Marshal(map[string]any{
		"topic":     fmt.Sprintf("nemo/tools/%d/enabled", tool),
		"payload":   string(payload),
		"qos":       int(w.qos),
		"retain":    false,
		"timestamp": float64(time.Now().UnixMilli()) / 1000,
	})
	return string(env)
}
