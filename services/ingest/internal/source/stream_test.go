package source

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// openStream reads stream "s" as consumer "c" of group "g" through a
// client of rdb's Redis that waits readTimeout for a reply (0: go-redis's
// default, 5 s), past its start (the recovery of its own pending entries).
func openStream(t *testing.T, rdb *redis.Client, readTimeout time.Duration) *Stream {
	t.Helper()
	ctx := context.Background()
	opts := *rdb.Options()
	opts.ReadTimeout = readTimeout
	s, err := NewStream(ctx, redisconn.FromOptions(&opts), StreamConfig{Stream: "s", Group: "g", Consumer: "c", GroupStart: "0", ClaimIdle: time.Hour}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	writeBurst(t, rdb, 0, 1)
	var got []string
	for range 3 { // the first read looks at the consumer's own pending entries
		if got = readIDs(t, s, 10); len(got) > 0 {
			break
		}
	}
	if strings.Join(got, " ") != "1-1" {
		t.Fatalf("the first reads got %v; want the one entry", got)
	}
	return s
}

// writeBurst adds entries from..to-1 in one round trip, as a writer with
// a burst of events does.
func writeBurst(t *testing.T, rdb *redis.Client, from, to int) {
	t.Helper()
	pipe := rdb.Pipeline()
	for i := from; i < to; i++ {
		pipe.XAdd(context.Background(), &redis.XAddArgs{Stream: "s", ID: fmt.Sprintf("%d-1", i+1), Values: []any{"event", "{}"}})
	}
	if _, err := pipe.Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// read is what one Read returned.
type read struct {
	entries []Entry
	err     error
}

// readInBackground reads once in another goroutine.
func readInBackground(s *Stream, max int) <-chan read {
	got := make(chan read, 1)
	go func() {
		entries, err := s.Read(context.Background(), max)
		got <- read{entries, err}
	}()
	return got
}

func readIDs(t *testing.T, s *Stream, max int) []string {
	t.Helper()
	entries, err := s.Read(context.Background(), max)
	return idsOf(t, read{entries, err})
}

func idsOf(t *testing.T, r read) []string {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	entries := r.entries
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return ids
}

// waitBlocked waits until a client is blocked in Redis (the read).
func waitBlocked(t *testing.T, rdb *redis.Client) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(rdb.Info(context.Background(), "clients").Val(), "blocked_clients:1"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the read never blocked in Redis")
		}
	}
}

func idRange(from, to int) string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%d-1", i+1))
	}
	return strings.Join(out, " ")
}

// A burst written while the read waits comes back in one read, not as
// its first entry and then the rest: Redis answers a blocked read at the
// burst's first entry, and each batch costs every service downstream.
// A read never returns more than it asked for.
func TestABurstWrittenWhileTheReadWaitsComesInOneRead(t *testing.T) {
	rdb := redistest.Start(t)
	s := openStream(t, rdb, 0)

	got := readInBackground(s, 256)
	waitBlocked(t, rdb)
	writeBurst(t, rdb, 1, 21)
	if got := strings.Join(idsOf(t, <-got), " "); got != idRange(1, 21) {
		t.Fatalf("the read got %s; want the whole burst, %s", got, idRange(1, 21))
	}

	writeBurst(t, rdb, 21, 41)
	for _, c := range []struct{ max, from, to int }{{5, 21, 26}, {1, 26, 27}, {2, 27, 29}, {256, 29, 41}} {
		if got := strings.Join(readIDs(t, s, c.max), " "); got != idRange(c.from, c.to) {
			t.Errorf("a read of at most %d got %s; want %s", c.max, got, idRange(c.from, c.to))
		}
	}
}

// A client whose read timeout is shorter than the read's wait reads with
// the blocking read alone: a pipelined one would time out. It still reads
// a burst (its first entry at least) and waits out a quiet stream without
// an error.
func TestAClientWithAShortReadTimeoutReadsOnceAtATime(t *testing.T) {
	rdb := redistest.Start(t)
	s := openStream(t, rdb, ReadWait/2)
	if s.pairedReads {
		t.Fatal("a client that waits half of ReadWait for a reply pipelines its blocking read")
	}
	got := readInBackground(s, 256)
	waitBlocked(t, rdb)
	writeBurst(t, rdb, 1, 21)
	if ids := idsOf(t, <-got); len(ids) == 0 || ids[0] != "2-1" {
		t.Fatalf("the read got %v; want the burst from 2-1", ids)
	}
	for len(readIDs(t, s, 256)) > 0 {
	}
	start := time.Now()
	if ids := readIDs(t, s, 256); len(ids) != 0 || time.Since(start) < ReadWait/2 {
		t.Fatalf("a read of a quiet stream got %v after %v; want nothing after about %v", ids, time.Since(start), ReadWait)
	}
}
