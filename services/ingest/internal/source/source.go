// Package source reads NEMO's events from Redis in one of three ways and
// acknowledges them once their fate is settled.
package source

import (
	"context"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/envelope"
)

// Entry is one item read from Redis.
type Entry struct {
	// ID is the event's id, which subscribers see as the event_id: unique
	// among the entries in flight, never the id of another event read by
	// another run, replica or mode, and the same when the entry is read
	// again. It is the stream entry id; for the list, a digest of the
	// entry (see List); for the channel, a run id and a number (see PubSub).
	ID string
	// Original is the entry as Redis held it, for the dead letters: the raw
	// string. A stream entry's fields are kept in fields instead and
	// written as JSON only when asked for (see AsHeld), which is rare.
	Original string
	fields   map[string]any
	// ackToken is what Ack needs: the raw value for the list.
	ackToken string
	// deleted is a stream entry trimmed or deleted before it was read.
	deleted bool
}

// Size is about how many bytes the entry holds: what ingest's window counts
// besides entries.
func (e Entry) Size() int {
	n := len(e.ID) + len(e.Original) + len(e.ackToken)
	for k, v := range e.fields {
		n += len(k)
		if s, ok := v.(string); ok {
			n += len(s)
		}
	}
	return n
}

// AsHeld is the entry as Redis held it, for the dead letters: the raw
// string, or a stream entry's fields as JSON.
func (e Entry) AsHeld() string {
	if e.fields != nil {
		original, _ := json.Marshal(e.fields)
		return string(original)
	}
	return e.Original
}

// Parse checks the entry and turns it into an event.
func (e Entry) Parse(lim envelope.Limits) (*bridgev1.Event, *envelope.Rejection) {
	switch {
	case e.deleted:
		return nil, &envelope.Rejection{Cause: bridgev1.Cause_CAUSE_DELETED, Reason: "the stream entry was trimmed or deleted before it could be delivered"}
	case e.fields != nil:
		var ev *bridgev1.Event
		var rej *envelope.Rejection
		if doc, ok := e.fields["event"].(string); ok {
			ev, rej = envelope.FromJSON(e.ID, []byte(doc), lim)
		} else {
			ev, rej = envelope.FromStreamFields(e.ID, e.fields, lim)
		}
		if ev != nil {
			ev.Sequence = e.ID // stream ids only grow, across restarts too
		}
		return ev, rej
	}
	return envelope.FromJSON(e.ID, []byte(e.Original), lim)
}

func jsonEntry(id, raw string) Entry {
	return Entry{ID: id, Original: raw, ackToken: raw}
}

func fieldsEntry(id string, values map[string]any) Entry {
	if len(values) == 0 { // XREADGROUP returns trimmed entries with no fields
		original, _ := json.Marshal(values) // null or {}
		return Entry{ID: id, Original: string(original), deleted: true}
	}
	return Entry{ID: id, fields: values}
}

// ReadWait is how long a Read waits for the first entry: a blocking read
// (XREADGROUP BLOCK, BLMOVE) stays in Redis this long at most after it
// arrived there, even when the caller gave up on it earlier. Ingest with a
// lease starts a read only while the lease has more than this left, so
// that no read of the holder is still waiting in Redis when a standby may
// take over.
const ReadWait = time.Second

// Source is one way of reading Redis.
type Source interface {
	// Name says where events come from, e.g. "stream nemo:events".
	Name() string
	// Input is the same, typed: for the dead letters, which a replay puts
	// back there.
	Input() *statusv1.Input
	// Read returns up to max entries, oldest first. It waits ReadWait for
	// the first one and returns none when nothing came.
	Read(ctx context.Context, max int) ([]Entry, error)
	// Ack removes settled entries from Redis for good.
	Ack(ctx context.Context, entries []Entry) error
}

// AckCarrier is a Source whose acknowledgement is a round trip to Redis,
// on a client that never retries, that can carry other commands so that
// they cost no round trip of their own (ingest's running total).
type AckCarrier interface {
	Source
	// AckCarrying is Ack, with the commands also adds to the pipe (if
	// also is not nil) sent in the same round trip. Their replies do not
	// matter: the error is the acknowledgement's alone.
	AckCarrying(ctx context.Context, entries []Entry, also func(redis.Pipeliner)) error
}
