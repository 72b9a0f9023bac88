package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// Report is what a run saw.
type Report struct {
	Sent, Delivered, Lost int
	// Duplicated counts arrivals beyond an event's first (at-least-once
	// allows them); Reordered counts events whose first arrival came after
	// a later event of the same tool (never allowed).
	Duplicated, Reordered int
	// LongestStall is the longest time between two first arrivals.
	LongestStall time.Duration
	HostileSent  int
	DeadLetters  int64
	Faults       []string
	Exited       []string // services not running at the end
	LogTails     string
}

func analyse(msgs []harness.Message, s sent, tools int) *Report {
	r := &Report{Sent: s.good}
	seen := map[[2]int]bool{}
	highest := make([]int, tools)
	for i := range highest {
		highest[i] = -1
	}
	var last time.Time
	for _, m := range msgs {
		var e harness.TestEvent
		if json.Unmarshal(m.Payload, &e) != nil || e.ToolID < 0 || e.ToolID >= tools || e.Seq*tools+e.ToolID >= s.good {
			continue
		}
		key := [2]int{e.ToolID, e.Seq}
		if seen[key] {
			r.Duplicated++
			continue
		}
		seen[key] = true
		if e.Seq < highest[e.ToolID] {
			r.Reordered++
		}
		highest[e.ToolID] = max(highest[e.ToolID], e.Seq)
		if !last.IsZero() {
			r.LongestStall = max(r.LongestStall, m.ReceivedAt.Sub(last))
		}
		last = m.ReceivedAt
	}
	r.Delivered = len(seen)
	r.Lost = r.Sent - r.Delivered
	return r
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nfaults, in turn: %s\n\n", strings.Join(r.Faults, "; "))
	fmt.Fprintf(w, "| sent | delivered | lost | duplicated | reordered | longest stall | hostile entries | dead letters |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(w, "| %d | %d | %d | %d | %d | %s | %d | %d |\n",
		r.Sent, r.Delivered, r.Lost, r.Duplicated, r.Reordered, r.LongestStall.Round(10*time.Millisecond), r.HostileSent, r.DeadLetters)
	if len(r.Exited) > 0 {
		fmt.Fprintf(w, "\nnot running at the end: %s\n", strings.Join(r.Exited, ", "))
	}
	if r.LogTails != "" {
		fmt.Fprintf(w, "\n%s\n", r.LogTails)
	}
}

// Failed says what broke a promise, or "" when none was.
func (r *Report) Failed() string {
	var broken []string
	if r.Lost > 0 {
		broken = append(broken, fmt.Sprintf("%d events lost", r.Lost))
	}
	if r.Reordered > 0 {
		broken = append(broken, fmt.Sprintf("%d events reordered", r.Reordered))
	}
	if len(r.Exited) > 0 {
		broken = append(broken, "services exited: "+strings.Join(r.Exited, ", "))
	}
	return strings.Join(broken, "; ")
}
