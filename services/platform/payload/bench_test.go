package payload

import (
	"testing"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

// benchPayload is what the NEMO plugin writes for a tool being enabled.
const benchPayload = `{"event":"tool_enabled","tool_id":12,"tool_name":"Fiji","user":"Li Wu","timestamp":"2026-12-01T09:00:00Z"}`

// BenchmarkDecode measures reading a typical payload's facts: one op is
// one event.
func BenchmarkDecode(b *testing.B) {
	payload := []byte(benchPayload)
	b.ReportAllocs()
	for b.Loop() {
		ev := &bridgev1.Event{Topic: "nemo/tools/12/enabled", Payload: payload}
		Decode(ev)
		if ev.GetToolId() != 12 {
			b.Fatal("no tool id")
		}
	}
}

// BenchmarkID measures reading an id as NEMO writes it most often.
func BenchmarkID(b *testing.B) {
	raw := []byte(`12`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ID(raw); !ok {
			b.Fatal("no id")
		}
	}
}
