// Package streamid reads Redis stream entry ids, "<milliseconds>-<number>",
// which order a stream's entries and stamp them with Redis's clock. The
// router (to tell a real position from a forged one) and the gateway (to
// count a backlog) compare them.
package streamid

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ID is a stream entry id.
type ID struct{ Ms, Seq uint64 }

// Parse reads an id as Redis writes it; ok is false for anything else
// (an empty string, "*", a sign, a part out of range).
func Parse(s string) (id ID, ok bool) {
	ms, seq, found := strings.Cut(s, "-")
	if !found {
		return ID{}, false
	}
	m, err1 := strconv.ParseUint(ms, 10, 64)
	n, err2 := strconv.ParseUint(seq, 10, 64)
	return ID{m, n}, err1 == nil && err2 == nil
}

// After says whether id comes after o in the stream.
func (id ID) After(o ID) bool {
	return id.Ms > o.Ms || id.Ms == o.Ms && id.Seq > o.Seq
}

// Time is when Redis stamped the entry, by its clock.
func (id ID) Time() time.Time { return time.UnixMilli(int64(id.Ms)) }

func (id ID) String() string { return fmt.Sprintf("%d-%d", id.Ms, id.Seq) }
