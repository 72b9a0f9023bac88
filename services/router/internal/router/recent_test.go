package router

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// A burst of deliveries beyond -recent-messages within a second puts that
// many in the feed and counts the rest as skipped; the
// running total of messages out still counts every one.
func TestTheRecentFeedRecordsAtMostKeepASecond(t *testing.T) {
	rdb := startRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const keep, burst = 100, 1000
	r := newRecentLog(rdb, keep, testLog(t), prometheus.NewRegistry())
	go r.run(ctx)
	for i := range burst {
		r.record(&bridgev1.Message{Topic: fmt.Sprintf("nemo/tools/%d/enabled", i), Payload: []byte("{}"), Qos: 1})
	}
	deadline := time.Now().Add(5 * time.Second)
	for rdb.HGet(ctx, records.Counters, records.CounterMessagesOut).Val() != fmt.Sprint(burst) {
		if time.Now().After(deadline) {
			t.Fatalf("messages out = %q; want all %d delivered counted", rdb.HGet(ctx, records.Counters, records.CounterMessagesOut).Val(), burst)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := rdb.XLen(ctx, records.Recent).Val(); n < keep*9/10 || n > keep {
		t.Errorf("the feed holds %d messages; want about %d", n, keep)
	}
	if got := testutil.ToFloat64(r.skipped); got < burst-keep || got > burst-keep*9/10 {
		t.Errorf("%v skipped; want about %d", got, burst-keep)
	}
	if got := testutil.ToFloat64(r.dropped); got != 0 {
		t.Errorf("%v dropped with Redis answering", got)
	}
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
