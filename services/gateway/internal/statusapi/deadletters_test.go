package statusapi

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// Letters written by ingest now (typed input) and before (only the words
// of source) both go back where they were read.
func TestReplayTypedAndOldDeadLetters(t *testing.T) {
	ctx := context.Background()
	rdb := startRedis(t)
	s := &Server{rdb: rdb, input: Input{DeadLetterStream: "dead"}}
	add := func(values []any) string {
		t.Helper()
		id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "dead", Values: values}).Result()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	letter := func(in *statusv1.Input, entry string) []any {
		return records.DeadLetterValues(&statusv1.DeadLetter{Code: "c", Reason: "r", Stage: "ingest", SourceId: "1-0",
			Entry: entry, FailedAt: timestamppb.Now(), Input: in})
	}
	old := func(source, entry string) []any {
		return []any{"code", "c", "reason", "r", "stage", "ingest", "source", source, "source_id", "1-0",
			"entry", entry, "failed_at", time.Now().UTC().Format(time.RFC3339Nano)}
	}
	add(letter(records.ListInput("a list"), "new list")) // a key with a space: only the typed input says it
	add(old("list l", "old list"))
	add(letter(records.StreamInput("in"), `{"event":"new"}`))
	add(old("stream in", `{"event":"old"}`))

	list, err := s.ListDeadLetters(ctx, &statusv1.ListDeadLettersRequest{})
	if err != nil || len(list.GetDeadLetters()) != 4 {
		t.Fatalf("list: %v, %v", list, err)
	}
	for _, d := range list.GetDeadLetters() {
		if d.GetInput() == nil {
			t.Errorf("letter %s (source %q) lists no input", d.GetId(), d.GetSource())
		}
	}
	resp, err := s.ReplayAllDeadLetters(ctx, &statusv1.ReplayAllDeadLettersRequest{})
	if err != nil || resp.GetReplayed() != 4 {
		t.Fatalf("replayed %v, %v", resp, err)
	}
	if got, _ := rdb.LRange(ctx, "a list", 0, -1).Result(); len(got) != 1 || got[0] != "new list" {
		t.Errorf("list %q holds %q", "a list", got)
	}
	if got, _ := rdb.LRange(ctx, "l", 0, -1).Result(); len(got) != 1 || got[0] != "old list" {
		t.Errorf("list l holds %q", got)
	}
	entries, _ := rdb.XRange(ctx, "in", "-", "+").Result()
	if len(entries) != 2 || entries[0].Values["event"] != "new" || entries[1].Values["event"] != "old" {
		t.Errorf("stream in holds %v", entries)
	}
	if n, _ := rdb.XLen(ctx, "dead").Result(); n != 0 {
		t.Errorf("%d letters left after replay", n)
	}

	// A source the bridge does not read is refused, and the letter kept.
	id := add(old("fake", "x"))
	if _, err := s.ReplayDeadLetter(ctx, &statusv1.ReplayDeadLetterRequest{Id: id}); err == nil {
		t.Error("a letter of no input was replayed")
	}
	if n, _ := rdb.XLen(ctx, "dead").Result(); n != 1 {
		t.Errorf("%d letters after a refused replay; want 1", n)
	}
}
