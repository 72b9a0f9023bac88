package router

import (
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

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
