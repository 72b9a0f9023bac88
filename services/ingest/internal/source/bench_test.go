package source

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envelope"
)

// benchEnvelope is event i as test/bench writes it with XADD into the
// field "event": the NEMO plugin's envelope, topic nemo/tools/<n>/enabled,
// the payload a JSON text with tool_id.
func benchEnvelope(i, tool int) string {
	payload, _ := json.Marshal(map[string]any{"tool_id": tool, "seq": i, "sent_ns": time.Now().UnixNano()})
	env, _ := json.Marshal(map[string]any{
		"topic":     fmt.Sprintf("nemo/tools/%d/enabled", tool),
		"payload":   string(payload),
		"qos":       1,
		"retain":    false,
		"timestamp": float64(time.Now().UnixMilli()) / 1000,
	})
	return string(env)
}

// BenchmarkIngestDecode measures what ingest does with one stream entry
// as go-redis returns it: the entry (Stream.entries) and its check and
// decode into an Event (Parse). One op is one event.
func BenchmarkIngestDecode(b *testing.B) {
	const batch = 64
	msgs := make([]redis.XMessage, batch)
	ms := time.Now().UnixMilli()
	for i := range msgs {
		msgs[i] = redis.XMessage{ID: fmt.Sprintf("%d-%d", ms, i), Values: map[string]any{"event": benchEnvelope(i, i%16)}}
	}
	s := &Stream{}
	lim := envelope.Limits{MaxPayloadBytes: 256 << 10}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += batch {
		for _, e := range s.entries(msgs[:min(batch, b.N-n)]) {
			if _, rej := e.Parse(lim); rej != nil {
				b.Fatal(rej.Reason)
			}
		}
	}
}
