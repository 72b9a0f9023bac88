package router

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/batch"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// recentFlushEvery is how often at most the feed and the running total
// are written. The budget spreads what it lets through evenly, so without
// a pause every recorded message, and every count mark, was a round trip
// of its own: a tenth of the router's CPU during a drain, for a feed the
// page reads every few seconds.
const recentFlushEvery = 100 * time.Millisecond

// recentLog records delivered messages in Redis. It is diagnostics, so it
// never slows the pipeline: when Redis is slow it drops (and counts) what
// does not fit in its buffer. It also records at most keep messages a
// second (see budget), so that a backlog draining at thousands of
// messages a second does not pay an XADD per message for a feed that
// keeps keep of them and is read a few times a minute.
type recentLog struct {
	rdb   redis.UniversalClient
	keep  int64
	queue chan recentEntry
	// halfFull cuts run's pause short when the queue fills faster than
	// recentFlushEvery empties it (a -recent-messages of thousands).
	halfFull chan struct{}
	dropped  prometheus.Counter
	skipped  prometheus.Counter
	budget   *budget
	log      *slog.Logger
	// uncounted are delivered messages not yet added to the running total,
	// dropped ones included: the total counts deliveries, not the feed.
	uncounted atomic.Int64
	// countQueued says a count mark waits in the queue (see flushCount).
	countQueued atomic.Bool
}

// recentEntry is a message for the feed; one without a message is a count
// mark, which only carries the running total to Redis.
type recentEntry struct {
	msg    *bridgev1.Message
	sentAt time.Time
}

func newRecentLog(rdb redis.UniversalClient, keep int64, log *slog.Logger, reg prometheus.Registerer) *recentLog {
	r := &recentLog{rdb: rdb, keep: keep, queue: make(chan recentEntry, 4096), halfFull: make(chan struct{}, 1), log: log,
		budget: newBudget(float64(keep), time.Now()),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nemo_router_recent_dropped_total",
			Help: "Delivered messages left out of the recent-messages feed because Redis was too slow.",
		}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nemo_router_recent_skipped_total",
			Help: "Delivered messages left out of the recent-messages feed because more than -recent-messages a second were delivered: the feed then holds an even sample of them.",
		})}
	reg.MustRegister(r.dropped, r.skipped)
	return r
}

func (r *recentLog) record(m *bridgev1.Message) {
	r.uncounted.Add(1)
	now := time.Now()
	if !r.budget.take(now) {
		r.skipped.Inc()
		r.flushCount()
		return
	}
	select {
	case r.queue <- recentEntry{msg: m, sentAt: now}:
	default:
		r.dropped.Inc()
	}
	if len(r.queue) >= cap(r.queue)/2 {
		select {
		case r.halfFull <- struct{}{}:
		default:
		}
	}
}

// flushCount queues a count mark, unless one waits already: a skipped
// message has no entry of its own to carry its count to Redis, and the
// last ones of a burst would otherwise wait for the next message recorded.
// A full queue needs none: its batches carry the count.
func (r *recentLog) flushCount() {
	if !r.countQueued.CompareAndSwap(false, true) {
		return
	}
	select {
	case r.queue <- recentEntry{}:
	default:
		r.countQueued.Store(false)
	}
}

// run writes the queue to Redis in batches until ctx ends, at most one
// batch every recentFlushEvery. Each batch also adds the deliveries
// counted since the last one to the running total of messages out, in the
// same round trip, so a status page can compute messages/s; a drop from a
// full queue is followed by more batches, which carry its count, and a
// skipped message queues a count mark.
func (r *recentLog) run(ctx context.Context) {
	pause := time.NewTimer(recentFlushEvery)
	defer pause.Stop()
	_ = batch.Drain(ctx, r.queue, cap(r.queue), func(batch []recentEntry) error {
		pause.Reset(recentFlushEvery)
		r.write(ctx, batch)
		select {
		case <-pause.C:
		case <-r.halfFull:
		case <-ctx.Done():
		}
		return nil
	})
}

// write puts batch's messages in the feed and the running total in Redis,
// in one round trip.
func (r *recentLog) write(ctx context.Context, batch []recentEntry) {
	pipe := r.rdb.Pipeline()
	written := 0
	for _, e := range batch {
		if e.msg != nil {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: records.Recent, MaxLen: r.keep, Approx: true, Values: fields(e)})
			written++
		}
	}
	// Before the count is taken: a message skipped after it queues a new
	// mark, which the next batch carries.
	r.countQueued.Store(false)
	counted := r.uncounted.Swap(0)
	pipe.HIncrBy(ctx, records.Counters, records.CounterMessagesOut, counted)
	if _, err := pipe.Exec(ctx); err != nil && ctx.Err() == nil {
		r.uncounted.Add(counted) // the next batch tries again
		r.dropped.Add(float64(written))
		r.log.Debug("could not record recent messages", "err", err)
	}
}

// fields are e's stream fields, as the gateway reads them (records.ReadRecent).
func fields(e recentEntry) []any {
	m := e.msg
	return records.RecentValues(&statusv1.Message{
		Topic:   m.GetTopic(),
		Payload: m.GetPayload(),
		Qos:     m.GetQos(),
		Retain:  m.GetRetain(),
		EventId: m.GetEventId(),
		SentAt:  timestamppb.New(e.sentAt),
		ToolId:  m.GetToolId(),
		Site:    m.GetSite(),
	})
}
