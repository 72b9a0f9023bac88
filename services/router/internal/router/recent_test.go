package router

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
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
