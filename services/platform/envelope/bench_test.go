package envelope

import (
	"testing"
)

// benchEntries are a NEMO entry as the plugin writes it, with the payload
// as JSON text, and the same entry with the payload as an object.
var benchEntries = map[string]string{
	"text payload":   `{"topic":"nemo/tools/12/enabled","payload":"{\"event\":\"tool_enabled\",\"tool_id\":12,\"tool_name\":\"Fiji\",\"user\":\"Li Wu\",\"timestamp\":\"2026-12-01T09:00:00Z\"}","qos":1,"retain":false,"timestamp":1764579600.0}`,
	"object payload": `{"topic":"nemo/tools/12/enabled","payload":{"event":"tool_enabled","tool_id":12,"tool_name":"Fiji","user":"Li Wu","timestamp":"2026-12-01T09:00:00Z"},"qos":1,"retain":false,"timestamp":1764579600.0}`,
}

// BenchmarkFromJSON measures checking and decoding one entry into an
// event, payload included. One op is one entry.
func BenchmarkFromJSON(b *testing.B) {
	for name, entry := range benchEntries {
		b.Run(name, func(b *testing.B) {
			raw := []byte(entry)
			b.ReportAllocs()
			for b.Loop() {
				ev, rej := FromJSON("1764579600000-0", raw, Limits{MaxPayloadBytes: 256 << 10})
				if rej != nil || ev.GetToolId() != 12 {
					b.Fatal(rej)
				}
			}
		})
	}
}

// BenchmarkFromStreamFields measures an entry that carries the envelope's
// keys as its own fields.
func BenchmarkFromStreamFields(b *testing.B) {
	values := map[string]any{
		"topic":     "nemo/tools/12/enabled",
		"payload":   `{"event":"tool_enabled","tool_id":12,"tool_name":"Fiji","user":"Li Wu","timestamp":"2026-12-01T09:00:00Z"}`,
		"qos":       "1",
		"retain":    "false",
		"timestamp": "1764579600.0",
	}
	b.ReportAllocs()
	for b.Loop() {
		ev, rej := FromStreamFields("1764579600000-0", values, Limits{MaxPayloadBytes: 256 << 10})
		if rej != nil || ev.GetToolId() != 12 {
			b.Fatal(rej)
		}
	}
}
