package router

import (
	"fmt"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/rules"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/toolstate"
)

// snapshot is the retained message carrying a tool's whole current state,
// so that a display or dashboard that connects at any time reads it at
// once. It goes with the event's ordering key, after the event's own
// messages.
// With -sign-all and a key it is signed, as the rules' own publishes are.
func snapshot(set *rules.Set, t *statusv1.Tool, ev *bridgev1.Event) (*bridgev1.Message, error) {
	doc, err := toolstate.Marshal(t)
	if err != nil {
		return nil, err
	}
	doc = set.SignByDefault(doc)
	prefix := set.Prefix()
	return &bridgev1.Message{
		Topic:          fmt.Sprintf("%snemo/tools/%d/status", prefix, t.GetId()),
		Payload:        doc,
		Qos:            1,
		Retain:         true,
		OrderingKey:    ev.GetOrderingKey(),
		ContentType:    "application/json",
		UserProperties: map[string]string{"event_id": ev.GetId()},
	}, nil
}

// lastStatePerTool marks, for each tool, the last event of the batch that
// changed its state: only that event carries a snapshot. The earlier ones
// would be overwritten on the retained topic at once, and skipping them
// nearly halves what a backlog puts on the broker.
func lastStatePerTool(states []*statusv1.Tool) []bool {
	final := make([]bool, len(states))
	seen := map[int32]bool{}
	for i := len(states) - 1; i >= 0; i-- {
		if t := states[i]; t != nil && !seen[t.GetId()] {
			seen[t.GetId()] = true
			final[i] = true
		}
	}
	return final
}
