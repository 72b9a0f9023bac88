package harness

import (
	"encoding/json"
	"fmt"
	"strings"
)

// CheckOrder checks what arrived on the tools' event topics: every tool's
// events numbered 0..perTool-1, each at least once (duplicates are allowed,
// the bridge is at-least-once), and, taking each event's first arrival, in
// increasing order (reordering is not allowed). It returns the number of
// distinct events seen and the first violation.
func CheckOrder(msgs []Message, tools, perTool int) (distinct int, err error) {
	next := make([]int, tools)
	seen := map[[2]int]bool{}
	for _, m := range msgs {
		if !strings.HasSuffix(m.Topic, "/enabled") {
			continue
		}
		var e TestEvent
		if json.Unmarshal(m.Payload, &e) != nil || e.ToolID < 0 || e.ToolID >= tools {
			continue
		}
		key := [2]int{e.ToolID, e.Seq}
		if seen[key] {
			continue // a duplicate
		}
		seen[key] = true
		if e.Seq != next[e.ToolID] {
			return len(seen), fmt.Errorf("tool %d: event %d arrived when %d was next (reordered or missing)", e.ToolID, e.Seq, next[e.ToolID])
		}
		next[e.ToolID]++
	}
	for tool, n := range next {
		if n != perTool {
			return len(seen), fmt.Errorf("tool %d: %d of %d events so far", tool, n, perTool)
		}
	}
	return len(seen), nil
}

// Arrivals lists, for the tool named in a CheckOrder error, the sequence
// numbers in the order they arrived, to tell a loss from a reordering.
func Arrivals(msgs []Message, orderErr error) string {
	var tool int
	if _, err := fmt.Sscanf(orderErr.Error(), "tool %d:", &tool); err != nil {
		return ""
	}
	var seqs []int
	for _, m := range msgs {
		var e TestEvent
		if strings.HasSuffix(m.Topic, "/enabled") && json.Unmarshal(m.Payload, &e) == nil && e.ToolID == tool {
			seqs = append(seqs, e.Seq)
		}
	}
	return fmt.Sprintf("tool %d, sequence numbers in arrival order: %v", tool, seqs)
}

// Distinct counts messages that differ in topic or payload: what arrived
// once a resend's duplicates are set aside.
func Distinct(msgs []Message) int {
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.Topic+"\x00"+string(m.Payload)] = true
	}
	return len(seen)
}
