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

// CheckOrderAcross checks what subscribers on the nodes of a broker
// cluster received, each its own list: every tool's events
// 0..perTool-1 reached at least one of them, and each subscriber got its
// first copies of a tool's events in increasing order (duplicates are
// allowed, reordering is not). A subscriber may miss events another got:
// a node that stops takes with it what it acknowledged but had not passed
// on to the others yet. It returns the number of distinct events seen by
// any, and the first violation.
func CheckOrderAcross(received [][]Message, tools, perTool int) (distinct int, err error) {
	seen := map[[2]int]bool{}
	for i, msgs := range received {
		last := make([]int, tools)
		for tool := range last {
			last[tool] = -1
		}
		first := map[[2]int]bool{}
		for _, m := range msgs {
			if !strings.HasSuffix(m.Topic, "/enabled") {
				continue
			}
			var e TestEvent
			if json.Unmarshal(m.Payload, &e) != nil || e.ToolID < 0 || e.ToolID >= tools {
				continue
			}
			key := [2]int{e.ToolID, e.Seq}
			if first[key] {
				continue // a duplicate
			}
			first[key], seen[key] = true, true
			if e.Seq < last[e.ToolID] {
				return len(seen), fmt.Errorf("subscriber %d, tool %d: event %d arrived after %d (reordered)", i+1, e.ToolID, e.Seq, last[e.ToolID])
			}
			last[e.ToolID] = e.Seq
		}
	}
	var missing []string
	for tool := range tools {
		for seq := range perTool {
			if !seen[[2]int{tool, seq}] {
				missing = append(missing, fmt.Sprintf("%d/%d", tool, seq))
			}
		}
	}
	if len(missing) > 0 {
		return len(seen), fmt.Errorf("%d events reached no subscriber (tool/event: %s)", len(missing), strings.Join(missing[:min(len(missing), 10)], " "))
	}
	return len(seen), nil
}
