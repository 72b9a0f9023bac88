package source

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// startRedis runs a throwaway redis-server for the test.
func startRedis(t *testing.T) *redis.Client { return redistest.Start(t) }

// After a failed move the list hands out, oldest first, what Redis moved
// to the processing list without the reply reaching it, and nothing in
// flight a second time, also when an identical entry is in flight.
func TestListAfterAFailedMoveRereadsWhatIsNotInFlight(t *testing.T) {
	rdb := startRedis(t)
	ctx := context.Background()
	// The list hands entries out as they are (Parse comes later), and the
	// plugin pushes the oldest first.
	const a, b, c = "entry a", "entry b", "entry c"
	for _, v := range []string{a, b, a, c} {
		if err := rdb.LPush(ctx, "l", v).Err(); err != nil {
			t.Fatal(err)
		}
	}
	l := newList(rdb, "l", "p", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if got, err := l.Read(ctx, 10); err != nil || len(got) != 0 {
		t.Fatalf("first read (the processing list, empty): %q, %v", originals(got), err)
	}
	inFlight, err := l.Read(ctx, 2)
	if err != nil || !slices.Equal(originals(inFlight), []string{a, b}) {
		t.Fatalf("read 2: %q, %v", originals(inFlight), err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Read(cancelled, 2); err == nil {
		t.Fatal("a read with a cancelled context did not fail")
	}
	// What a move whose reply was lost would have done in Redis.
	for range 2 {
		if err := rdb.LMove(ctx, "l", "p", "RIGHT", "LEFT").Err(); err != nil {
			t.Fatal(err)
		}
	}
	lost, err := l.Read(ctx, 10)
	if err != nil || !slices.Equal(originals(lost), []string{a, c}) {
		t.Fatalf("read after the failure: %q, %v; want the second %q, then %q", originals(lost), err, a, c)
	}
	if lost[0].ID != inFlight[0].ID+"-2" {
		t.Fatalf("the identical entry re-read has id %q while %q is in flight", lost[0].ID, inFlight[0].ID)
	}

	if err := l.Ack(ctx, append(inFlight, lost...)); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.LLen(ctx, "p").Result(); err != nil || n != 0 {
		t.Fatalf("processing list holds %d entries (%v) after every entry was acknowledged", n, err)
	}
}

func originals(entries []Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Original
	}
	return out
}
