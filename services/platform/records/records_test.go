package records_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// roundTrip XADDs values to a stream and reads the entry back, as the
// services do.
func roundTrip(t *testing.T, rdb *redis.Client, stream string, values []any) redis.XMessage {
	t.Helper()
	ctx := context.Background()
	id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: values}).Result()
	if err != nil {
		t.Fatal(err)
	}
	got, err := rdb.XRangeN(ctx, stream, id, id, 1).Result()
	if err != nil || len(got) != 1 {
		t.Fatalf("read back %s: %v %v", id, got, err)
	}
	return got[0]
}

func TestDeadLetterRoundTrip(t *testing.T) {
	rdb := redistest.Start(t)
	failedAt := time.Date(2026, 11, 30, 8, 15, 1, 123456789, time.UTC)
	for _, in := range []*statusv1.Input{
		records.StreamInput("nemo:events"),
		records.ListInput("nemo_mqtt_events"),
		records.ChannelInput("some channel"), // a key may hold a space
	} {
		t.Run(records.InputName(in), func(t *testing.T) {
			d := &statusv1.DeadLetter{
				Code: "not_json", Reason: "not JSON", Stage: "ingest",
				SourceId: "1764490501123-0", Entry: `{"event":"{"}`,
				FailedAt: timestamppb.New(failedAt), Input: in,
			}
			e := roundTrip(t, rdb, "dead", records.DeadLetterValues(d))
			want := d
			want.Id, want.Source = e.ID, records.InputName(in)
			if diff := cmp.Diff(want, records.ReadDeadLetter(e), protocmp.Transform()); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeadLetterFields pins the stream fields an admin sees in XRANGE:
// the ones written before the typed input, unchanged, then the new ones.
func TestDeadLetterFields(t *testing.T) {
	d := &statusv1.DeadLetter{
		Code: "c", Reason: "r", Stage: "s", SourceId: "1-0", Entry: "e",
		FailedAt: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))),
		Input:    records.StreamInput("nemo:events"),
	}
	want := []any{"code", "c", "reason", "r", "stage", "s", "source", "stream nemo:events",
		"source_id", "1-0", "entry", "e", "failed_at", "2026-01-02T02:04:05Z",
		"source_kind", "stream", "source_key", "nemo:events"}
	if diff := cmp.Diff(want, records.DeadLetterValues(d)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

// TestOldDeadLetter reads letters written before source_kind and
// source_key: their input comes from the words of source.
func TestOldDeadLetter(t *testing.T) {
	rdb := redistest.Start(t)
	for source, want := range map[string]*statusv1.Input{
		"stream nemo:events":       records.StreamInput("nemo:events"),
		"list nemo_mqtt_events":    records.ListInput("nemo_mqtt_events"),
		"channel nemo_mqtt_events": records.ChannelInput("nemo_mqtt_events"),
		"fake":                     nil,
		"queue x":                  nil,
		"":                         nil,
	} {
		e := roundTrip(t, rdb, "old", []any{
			"code", "not_json", "reason", "not JSON", "stage", "ingest", "source", source,
			"source_id", "7-0", "entry", `{"a":"b"}`, "failed_at", "2025-11-25T13:33:20.5Z",
		})
		got := records.ReadDeadLetter(e)
		if diff := cmp.Diff(want, got.GetInput(), protocmp.Transform()); diff != "" {
			t.Errorf("source %q: input (-want +got):\n%s", source, diff)
		}
		if got.GetSource() != source || got.GetCode() != "not_json" || got.GetSourceId() != "7-0" ||
			!got.GetFailedAt().AsTime().Equal(time.Date(2025, 11, 25, 13, 33, 20, 5e8, time.UTC)) {
			t.Errorf("source %q: read %v", source, got)
		}
	}
}

// TestTypedInputWins: a key with a space, which the words of source
// cannot say, is replayed to the typed key.
func TestTypedInputWins(t *testing.T) {
	e := redis.XMessage{ID: "1-0", Values: map[string]any{
		"source": "list a b", "source_kind": "list", "source_key": "a b",
	}}
	if diff := cmp.Diff(records.ListInput("a b"), records.ReadDeadLetter(e).GetInput(), protocmp.Transform()); diff != "" {
		t.Errorf("input (-want +got):\n%s", diff)
	}
}

func TestReplayStreamValues(t *testing.T) {
	got, err := records.ReplayStreamValues(&statusv1.DeadLetter{Entry: `{"event":"x"}`})
	if err != nil || got["event"] != "x" {
		t.Errorf("got %v, %v", got, err)
	}
	for _, entry := range []string{"", "{}", "not json"} {
		if _, err := records.ReplayStreamValues(&statusv1.DeadLetter{Id: "1-0", Entry: entry}); err == nil || !strings.Contains(err.Error(), "1-0") {
			t.Errorf("entry %q: err %v; want one naming the letter", entry, err)
		}
	}
}

func TestToolRoundTrip(t *testing.T) {
	rdb := redistest.Start(t)
	ctx := context.Background()
	tool := &statusv1.Tool{Id: 12, Name: "Furnace", InUse: true, User: "Ada", Operational: true, Sequence: "s1764490501123-0"}
	doc, err := records.MarshalTool(tool)
	if err != nil {
		t.Fatal(err)
	}
	// Compact, snake_case, false written out: what displays read.
	for _, part := range []string{`"in_use":true`, `"problematic":false`, `"id":12`} {
		if !strings.Contains(string(doc), part) {
			t.Errorf("%s lacks %s", doc, part)
		}
	}
	if strings.ContainsAny(string(doc), " \n") && !strings.Contains(tool.GetName(), " ") {
		t.Errorf("%s is not compact", doc)
	}
	if err := rdb.HSet(ctx, records.Tools, "12", doc).Err(); err != nil {
		t.Fatal(err)
	}
	stored, err := rdb.HGet(ctx, records.Tools, "12").Result()
	if err != nil {
		t.Fatal(err)
	}
	got, err := records.UnmarshalTool([]byte(stored))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tool, got, protocmp.Transform()); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	// A field of a newer router is left out, not an error.
	if got, err := records.UnmarshalTool([]byte(`{"id":3,"added_later":1}`)); err != nil || got.GetId() != 3 {
		t.Errorf("newer state: %v, %v", got, err)
	}
	if _, err := records.UnmarshalTool([]byte(`{"id":`)); err == nil {
		t.Error("a broken state was read")
	}
}

func TestRecentRoundTrip(t *testing.T) {
	rdb := redistest.Start(t)
	sentAt := time.UnixMilli(1764490501123) // the stream keeps milliseconds
	for name, m := range map[string]*statusv1.Message{
		"tool": {Topic: "nemo/tools/12/enabled", Payload: []byte(`{"event":"tool_enabled"}`), PayloadText: `{"event":"tool_enabled"}`,
			Qos: 1, Retain: true, EventId: "1764490501000-0", SentAt: timestamppb.New(sentAt), ToolId: 12},
		"a site's tool": {Topic: "north/nemo/tools/12/enabled", Payload: []byte(`{}`), PayloadText: `{}`,
			Qos: 1, EventId: "1764490501000-1", SentAt: timestamppb.New(sentAt), ToolId: 12, Site: "north"},
		"no tool, binary": {Topic: "nemo/areas/3", Payload: []byte{0xc0, 0xaf}, Qos: 0, EventId: "2-0", SentAt: timestamppb.New(sentAt)},
	} {
		t.Run(name, func(t *testing.T) {
			e := roundTrip(t, rdb, records.Recent, records.RecentValues(m))
			if diff := cmp.Diff(m, records.ReadRecent(e), protocmp.Transform()); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
			if _, ok := e.Values["tool_id"]; ok != (m.GetToolId() != 0) {
				t.Errorf("tool_id written: %v; want it only for a tool's message", ok)
			}
			if _, ok := e.Values["site"]; ok != (m.GetSite() != "") {
				t.Errorf("site written: %v; want it only for a named site's message", ok)
			}
		})
	}
}
