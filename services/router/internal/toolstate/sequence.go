package toolstate

import (
	"math"
	"strconv"
	"strings"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/streamid"
)

const (
	// StreamSlack is how far a stream entry id may be ahead of Redis's
	// clock and still be taken for one that Redis gave. Redis stamps an
	// entry with its own clock (the milliseconds of TIME, or of the last
	// id when the clock went back), so a real id is never ahead of it;
	// the slack only covers the router's reading of that clock (see the
	// router's redisClock). It is also the longest a forged sequence that
	// passes can hold a tool's state back.
	StreamSlack = 5 * time.Second
	// writtenSlack is the same for the time NEMO wrote an event, which
	// orders events without a stream id. That time comes from NEMO's
	// clock, not Redis's, so it may run ahead by more.
	writtenSlack = 5 * time.Minute
)

// Sequence is a string that sorts like the event's position in NEMO's
// output: "s:" and the stream entry id with both parts zero-padded, or "t:"
// and the time NEMO wrote the event, or "" when neither is known. Being
// sortable as a plain string lets Redis compare it in a script.
func Sequence(ev *bridgev1.Event) string {
	if id, ok := streamid.Parse(ev.GetSequence()); ok {
		return streamSequence(id)
	}
	if w := ev.GetWrittenAt(); w != nil {
		return writtenSequence(w.AsTime())
	}
	return ""
}

// streamSequence and writtenSequence build a sequence with strconv rather
// than fmt: every event needs two (its own and its limit), and fmt's
// formatting was a twentieth of the router's time.
func streamSequence(id streamid.ID) string {
	var buf [len("s:") + 2*digits + len("-")]byte
	b := appendPadded(append(buf[:0], "s:"...), id.Ms, digits)
	b = appendPadded(append(b, '-'), id.Seq, digits)
	return string(b)
}

func writtenSequence(t time.Time) string {
	var buf [len("t:") + digits]byte
	b := append(buf[:0], "t:"...)
	n := t.UnixNano()
	if n < 0 { // as fmt's %020d: the sign counts in the width
		return string(appendPadded(append(b, '-'), uint64(-n), digits-1))
	}
	return string(appendPadded(b, uint64(n), digits))
}

// digits is the most a uint64 has, to which every number is zero-padded.
const digits = 20

func appendPadded(b []byte, n uint64, width int) []byte {
	var d [digits]byte
	num := strconv.AppendUint(d[:0], n, 10)
	for range width - len(num) {
		b = append(b, '0')
	}
	return append(b, num...)
}

// limit is the greatest sequence of seq's kind that a real event can have
// at now (by Redis's clock), or "" for a sequence of no known kind.
func limit(seq string, now time.Time) string {
	switch {
	case strings.HasPrefix(seq, "s:"):
		return streamSequence(streamid.ID{Ms: uint64(now.Add(StreamSlack).UnixMilli()), Seq: math.MaxUint64})
	case strings.HasPrefix(seq, "t:"):
		return writtenSequence(now.Add(writtenSlack))
	}
	return ""
}

// stale says whether a state's sequence is ahead of any that a real event
// can have at now: a forged event put it there, or a clock far ahead.
// Trusted, it would keep every later event out of the state for good.
func stale(seq string, now time.Time) bool {
	l := limit(seq, now)
	return l != "" && seq > l
}

// applies says whether an event at seq may change a state last changed at
// prev, at now: not when both are known, of the same kind, and seq is
// older. An event at the same position is applied again (a redelivery is
// harmless). A stale prev orders nothing: the event applies.
func applies(prev, seq string, now time.Time) bool {
	if prev == "" || seq == "" || prev[:2] != seq[:2] || stale(prev, now) {
		return true
	}
	return seq >= prev
}
