package router

import (
	"slices"
	"testing"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

func TestOnlyEachToolsLastStateOfABatchIsPublished(t *testing.T) {
	tool := func(id int32) *statusv1.Tool { return &statusv1.Tool{Id: id} }
	states := []*statusv1.Tool{tool(1), tool(2), nil, tool(1), tool(3), tool(2), nil}
	got := lastStatePerTool(states)
	want := []bool{false, false, false, true, true, true, false}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
