package records

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// A dead letter is an entry ingest refused, kept with why in the stream
// DeadLetters (ingest's flag -dead-letter-stream), one stream entry per
// letter.
//
// Written by: ingest (DeadLetterValues, with XADD).
// Read by: the gateway (ReadDeadLetter), which lists the letters and
// replays them back into the input they were read from (their Input).
//
// The stream entry's fields, in this order; an admin reading the stream
// with XRANGE sees them as they are:
//
//	code         the cause's code (platform/cause), e.g. "not_json"
//	reason       why, in words
//	stage        the hop that refused it, e.g. "ingest"
//	source       where the entry was read, in words: "stream nemo:events"
//	source_id    the entry's id there
//	entry        the entry as Redis held it (a stream entry's fields as JSON)
//	failed_at    RFC 3339 time, UTC, with nanoseconds
//	source_kind  "stream", "list" or "channel" (the input's kind)
//	source_key   the input's Redis key
//
// source_kind and source_key came later: letters written before carry only
// source, whose words ReadDeadLetter parses instead.
const (
	dlCode       = "code"
	dlReason     = "reason"
	dlStage      = "stage"
	dlSource     = "source"
	dlSourceID   = "source_id"
	dlEntry      = "entry"
	dlFailedAt   = "failed_at"
	dlSourceKind = "source_kind"
	dlSourceKey  = "source_key"
)

// kindWords are the words of each input kind, in source and source_kind.
var kindWords = map[statusv1.InputKind]string{
	statusv1.InputKind_INPUT_KIND_STREAM:  "stream",
	statusv1.InputKind_INPUT_KIND_LIST:    "list",
	statusv1.InputKind_INPUT_KIND_CHANNEL: "channel",
}

func kindOf(word string) statusv1.InputKind {
	for k, w := range kindWords {
		if w == word {
			return k
		}
	}
	return statusv1.InputKind_INPUT_KIND_UNSPECIFIED
}

// StreamInput, ListInput and ChannelInput name an input of each kind.
func StreamInput(key string) *statusv1.Input {
	return &statusv1.Input{Kind: statusv1.InputKind_INPUT_KIND_STREAM, Key: key}
}

func ListInput(key string) *statusv1.Input {
	return &statusv1.Input{Kind: statusv1.InputKind_INPUT_KIND_LIST, Key: key}
}

func ChannelInput(key string) *statusv1.Input {
	return &statusv1.Input{Kind: statusv1.InputKind_INPUT_KIND_CHANNEL, Key: key}
}

// InputName says in words where events come from, e.g. "stream
// nemo:events": the dead letter's source and ingest's log.
func InputName(in *statusv1.Input) string {
	w, ok := kindWords[in.GetKind()]
	if !ok {
		return in.GetKey()
	}
	return w + " " + in.GetKey()
}

// DeadLetterValues are the stream fields of d, for XADD (d.Id is the
// stream's to give and is not written). d.Source, when empty, is
// InputName(d.Input); the typed input is written beside it when d has one.
func DeadLetterValues(d *statusv1.DeadLetter) []any {
	source := d.GetSource()
	if source == "" && d.GetInput() != nil {
		source = InputName(d.GetInput())
	}
	failedAt := ""
	if d.GetFailedAt() != nil {
		failedAt = d.GetFailedAt().AsTime().UTC().Format(time.RFC3339Nano)
	}
	v := []any{
		dlCode, d.GetCode(),
		dlReason, d.GetReason(),
		dlStage, d.GetStage(),
		dlSource, source,
		dlSourceID, d.GetSourceId(),
		dlEntry, d.GetEntry(),
		dlFailedAt, failedAt,
	}
	if in := d.GetInput(); in != nil {
		v = append(v, dlSourceKind, kindWords[in.GetKind()], dlSourceKey, in.GetKey())
	}
	return v
}

// ReadDeadLetter reads one entry of the dead-letter stream. Its Input is
// the typed source_kind and source_key; for a letter written before those
// fields existed it is parsed from the words of source, and is nil when
// they name no input the bridge reads.
func ReadDeadLetter(e redis.XMessage) *statusv1.DeadLetter {
	text := func(k string) string { v, _ := e.Values[k].(string); return v }
	d := &statusv1.DeadLetter{
		Id: e.ID, Code: text(dlCode), Reason: text(dlReason), Stage: text(dlStage),
		Source: text(dlSource), SourceId: text(dlSourceID), Entry: text(dlEntry),
	}
	if t, err := time.Parse(time.RFC3339Nano, text(dlFailedAt)); err == nil {
		d.FailedAt = timestamppb.New(t)
	}
	if kind, ok := e.Values[dlSourceKind].(string); ok {
		if k := kindOf(kind); k != statusv1.InputKind_INPUT_KIND_UNSPECIFIED {
			d.Input = &statusv1.Input{Kind: k, Key: text(dlSourceKey)}
		}
	} else {
		// Only for letters written before source_kind: their source is
		// "<kind> <key>", which is all they say of their input.
		word, key, _ := strings.Cut(d.GetSource(), " ")
		if k := kindOf(word); k != statusv1.InputKind_INPUT_KIND_UNSPECIFIED && key != "" {
			d.Input = &statusv1.Input{Kind: k, Key: key}
		}
	}
	return d
}

// ReplayStreamValues are the fields to XADD back to a stream input: the
// entry as ingest read it, which it wrote as JSON.
func ReplayStreamValues(d *statusv1.DeadLetter) (map[string]any, error) {
	var fields map[string]any
	if err := json.Unmarshal([]byte(d.GetEntry()), &fields); err != nil || len(fields) == 0 {
		return nil, fmt.Errorf("dead letter %s holds no stream entry to replay (entry %q)", d.GetId(), d.GetEntry())
	}
	return fields, nil
}
