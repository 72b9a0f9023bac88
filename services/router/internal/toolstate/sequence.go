package toolstate

import (
	"fmt"
	"strconv"
	"strings"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
)

// Sequence is a string that sorts like the event's position in NEMO's
// output: "s:" and the stream entry id with both parts zero-padded, or "t:"
// and the time NEMO wrote the event, or "" when neither is known. Being
// sortable as a plain string lets Redis compare it in a script.
func Sequence(ev *bridgev1.Event) string {
	if ms, seq, ok := strings.Cut(ev.GetSequence(), "-"); ok {
		m, err1 := strconv.ParseUint(ms, 10, 64)
		s, err2 := strconv.ParseUint(seq, 10, 64)
		if err1 == nil && err2 == nil {
			return fmt.Sprintf("s:%020d-%020d", m, s)
		}
	}
	if w := ev.GetWrittenAt(); w != nil {
		return fmt.Sprintf("t:%020d", w.AsTime().UnixNano())
	}
	return ""
}

// applies says whether an event at seq may change a state last changed at
// prev: not when both are known, of the same kind, and seq is older. An
// event at the same position is applied again (a redelivery is harmless).
func applies(prev, seq string) bool {
	if prev == "" || seq == "" || prev[:2] != seq[:2] {
		return true
	}
	return seq >= prev
}
