package statusapi

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// startRedis runs a throwaway redis-server for the test.
func startRedis(t *testing.T) *redis.Client { return redistest.Start(t) }

// The backlog is what is really unread and pending, also after entries
// were trimmed or deleted, where Redis's own lag for the group is nil or,
// before Redis 7.4, wrong (this test's steps 3 to 5 on Redis 7.0).
func TestStreamBacklogAfterTrimsAndDeletes(t *testing.T) {
	ctx := context.Background()
	rdb := startRedis(t)
	s := &Server{rdb: rdb, input: Input{Mode: "stream", Stream: "s", Group: "g"}}
	add := func(from, to int) {
		for i := from; i <= to; i++ {
			if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: fmt.Sprintf("%d-0", i), Values: []any{"f", "v"}}).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	read := func(n int64) []string {
		res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{"s", ">"}, Count: n, Block: -1}).Result()
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range res[0].Messages {
			ids = append(ids, m.ID)
		}
		return ids
	}
	check := func(step string, waiting, inFlight int64, lowerBound bool) {
		t.Helper()
		b, err := s.readBacklog(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		groups, _ := rdb.XInfoGroups(ctx, "s").Result()
		if b.waiting != waiting || b.inFlight != inFlight || (b.waitingNote != "") != lowerBound {
			t.Errorf("%s: waiting %d, in flight %d, note %q; want %d, %d, a note: %v (Redis's lag: %+v)", step, b.waiting, b.inFlight, b.waitingNote, waiting, inFlight, lowerBound, groups)
		}
	}

	if b, err := s.readBacklog(ctx); err != nil || b != (backlog{}) {
		t.Fatalf("no stream yet: %+v, %v", b, err)
	}
	add(1, 100)
	if err := rdb.XGroupCreate(ctx, "s", "g", "0").Err(); err != nil {
		t.Fatal(err)
	}
	check("1: a new group", 100, 0, false)
	if err := rdb.XAck(ctx, "s", "g", read(50)...).Err(); err != nil {
		t.Fatal(err)
	}
	check("2: half read and acknowledged", 50, 0, false)
	if err := rdb.XTrimMaxLen(ctx, "s", 10).Err(); err != nil {
		t.Fatal(err)
	}
	check("3: 40 unread entries trimmed", 10, 0, false)
	read(100)
	check("4: the rest read, none acknowledged", 0, 10, false)
	add(101, 105)
	read(2)
	check("5: 5 more written, 2 of them read", 3, 12, false)
	if err := rdb.XDel(ctx, "s", "104-0").Err(); err != nil {
		t.Fatal(err)
	}
	check("6: an unread entry deleted", 2, 12, false)
	add(106, 106+countLimit)
	if err := rdb.XDel(ctx, "s", "106-0").Err(); err != nil {
		t.Fatal(err)
	}
	check("7: more unread than it counts, with a deleted one", countLimit, 12, true)
	read(10000)
	check("8: everything read", 0, 12+2+countLimit, false)
}
