package router

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// A burst of deliveries beyond -recent-messages within a second puts that
// many in the feed (and the few the budget refills meanwhile) and counts
// the rest as skipped; the running total of messages out still counts
// every one.
func TestTheRecentFeedRecordsAtMostKeepASecond(t *testing.T) {
	const keep, burst = 100, 1000
	r, rdb, ctx := runningRecentLog(t, keep)
	start := time.Now()
	for i := range burst {
		r.record(delivered(i))
	}
	// The budget refills while the burst is recorded: keep a second.
	refilled := int(time.Since(start).Seconds()*keep) + 1
	skipped := int(testutil.ToFloat64(r.skipped))
	if passed := burst - skipped; passed < keep || passed > keep+refilled {
		t.Errorf("%d of a burst of %d recorded; want the %d saved up, and at most %d more refilled meanwhile", passed, burst, keep, refilled)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := rdb.HGet(ctx, records.Counters, records.CounterMessagesOut).Val()
		n := rdb.XLen(ctx, records.Recent).Val()
		if out == fmt.Sprint(burst) && n == int64(burst-skipped) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("messages out = %q, the feed holds %d; want all %d delivered counted and the %d recorded in the feed", out, n, burst, burst-skipped)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := testutil.ToFloat64(r.dropped); got != 0 {
		t.Errorf("%v dropped with Redis answering", got)
	}
}

// Messages delivered one by one, as a drain delivers them, reach Redis a
// batch at a time: at most one round trip every recentFlushEvery, where
// each used to be a round trip of its own. The feed and the running total
// still get every one.
func TestTheRecentFeedWritesInBatchesNotPerMessage(t *testing.T) {
	const keep, messages = 1000, 300
	r, rdb, ctx := runningRecentLog(t, keep)
	start := time.Now()
	for i := range messages {
		r.record(delivered(i))
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	deadline := time.Now().Add(5 * time.Second)
	for rdb.XLen(ctx, records.Recent).Val() != messages || rdb.HGet(ctx, records.Counters, records.CounterMessagesOut).Val() != fmt.Sprint(messages) {
		if time.Now().After(deadline) {
			t.Fatalf("the feed holds %d, messages out = %q; want %d in both", rdb.XLen(ctx, records.Recent).Val(), rdb.HGet(ctx, records.Counters, records.CounterMessagesOut).Val(), messages)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Every batch is one HINCRBY, with or without messages for the feed.
	batches := redistest.Calls(t, rdb)["hincrby"]
	if most := int(took/recentFlushEvery) + 2; batches > most {
		t.Errorf("%d messages over %v went in %d round trips; want at most %d, one every %v", messages, took.Round(time.Millisecond), batches, most, recentFlushEvery)
	}
}

// runningRecentLog is a feed keeping keep messages a second in a Redis of
// its own, written until the test ends.
func runningRecentLog(t *testing.T, keep int64) (*recentLog, *redis.Client, context.Context) {
	rdb := startRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := newRecentLog(rdb, keep, testLog(t), prometheus.NewRegistry())
	go r.run(ctx)
	return r, rdb, ctx
}

// delivered is the i-th message of a test's stream of deliveries.
func delivered(i int) *bridgev1.Message {
	return &bridgev1.Message{Topic: fmt.Sprintf("nemo/tools/%d/enabled", i), Payload: []byte("{}"), Qos: 1}
}

// A snapshot a newer one replaced in the publisher never reached the
// broker: the feed and the running total of messages out leave it out.
func TestAReplacedSnapshotIsNotRecordedAsSent(t *testing.T) {
	rdb := startRedis(t)
	srv := &server{tracker: newTracker(), recent: newRecentLog(rdb, 100, testLog(t), prometheus.NewRegistry()),
		metrics: newMetrics(prometheus.NewRegistry(), func() float64 { return 0 })}
	m := &bridgev1.Message{Id: "1", Topic: "nemo/tools/7/status", Retain: true}
	srv.settled(m, &publisherv1.PublishResult{MessageId: "1", Outcome: bridgev1.Outcome_OUTCOME_DELIVERED, Replaced: true})
	if n := srv.recent.uncounted.Load(); n != 0 || len(srv.recent.queue) != 0 {
		t.Errorf("a replaced snapshot counted (%d) or queued for the feed (%d)", n, len(srv.recent.queue))
	}
	srv.settled(m, &publisherv1.PublishResult{MessageId: "1", Outcome: bridgev1.Outcome_OUTCOME_DELIVERED})
	if n := srv.recent.uncounted.Load(); n != 1 || len(srv.recent.queue) != 1 {
		t.Errorf("a delivered snapshot: counted %d, queued %d; want 1 and 1", n, len(srv.recent.queue))
	}
}
