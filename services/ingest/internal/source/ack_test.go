package source

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
)

// What an acknowledgement carries goes in its round trip, and a carried
// command that Redis refuses (the counters key holds another type) does
// not fail the acknowledgement.
func TestAckCarryingSendsBothAndFailsOnlyForTheAck(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		name string
		open func(t *testing.T, rdb *redis.Client) (AckCarrier, []Entry, func() int64)
	}{
		{"stream", func(t *testing.T, rdb *redis.Client) (AckCarrier, []Entry, func() int64) {
			ctx := context.Background()
			if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []any{"event", "{}"}}).Err(); err != nil {
				t.Fatal(err)
			}
			s, err := NewStream(ctx, redisconn.FromOptions(rdb.Options()), StreamConfig{Stream: "s", Group: "g", Consumer: "c", GroupStart: "0", ClaimIdle: time.Hour}, log)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			var got []Entry
			for len(got) == 0 {
				e, err := s.Read(ctx, 10)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, e...)
			}
			return s, got, func() int64 { return rdb.XPending(ctx, "s", "g").Val().Count }
		}},
		{"list", func(t *testing.T, rdb *redis.Client) (AckCarrier, []Entry, func() int64) {
			ctx := context.Background()
			if err := rdb.LPush(ctx, "l", "{}").Err(); err != nil {
				t.Fatal(err)
			}
			l := newList(rdb, "l", "p", log)
			var got []Entry
			for len(got) == 0 {
				e, err := l.Read(ctx, 10)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, e...)
			}
			return l, got, func() int64 { return rdb.LLen(ctx, "p").Val() }
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rdb := startRedis(t)
			ctx := context.Background()
			src, entries, pending := c.open(t, rdb)
			if err := src.AckCarrying(ctx, entries, func(p redis.Pipeliner) { p.HIncrBy(ctx, "counters", "in", 1) }); err != nil {
				t.Fatal(err)
			}
			if n := pending(); n != 0 {
				t.Fatalf("%d entries still pending after the acknowledgement", n)
			}
			if n, _ := rdb.HGet(ctx, "counters", "in").Int(); n != 1 {
				t.Fatalf("the carried HINCRBY left %d, want 1", n)
			}
			if err := rdb.Set(ctx, "counters", "not a hash", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if err := src.AckCarrying(ctx, entries, func(p redis.Pipeliner) { p.HIncrBy(ctx, "counters", "in", 1) }); err != nil {
				t.Fatalf("a refused carried command failed the acknowledgement: %v", err)
			}
		})
	}
}
