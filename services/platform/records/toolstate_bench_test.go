package records

import (
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// typicalTool is a state as the router keeps it for a tool in use.
func typicalTool() *statusv1.Tool {
	return &statusv1.Tool{
		Id:           3,
		InUse:        true,
		User:         "Ann",
		Operational:  true,
		LastEvent:    "tool_enabled",
		Sequence:     "s:00000001796141705251-00000000000000000005",
		CustomerName: wrapperspb.String("Ann"),
		LastUser:     "Ann",
	}
}

func BenchmarkMarshalTool(b *testing.B) {
	t := typicalTool()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalTool(t); err != nil {
			b.Fatal(err)
		}
	}
}
