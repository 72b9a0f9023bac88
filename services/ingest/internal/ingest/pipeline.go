package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/types/known/timestamppb"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/backoff"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/batch"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/cause"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/envelope"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
)

// settled is an entry whose fate is known: acknowledged downstream, or
// rejected (then it goes to the dead letters first).
type settled struct {
	entry    source.Entry
	outcome  string
	rejected *rejected
	// answered is when the router's answer came; zero for an entry
	// refused here.
	answered time.Time
}

// pipeline moves entries from a source to the router and acknowledges them.
type pipeline struct {
	log     *slog.Logger
	src     source.Source
	limits  envelope.Limits
	batch   int
	window  *window
	link    routerLink
	dead    *deadLetters
	totals  totals
	settled chan settled
	metrics *metrics
	health  *healthState
	// mayRead, when set, says whether the lease of the input leaves time
	// for another read (see standby.go).
	mayRead func() bool
	// site is stamped on every event of a named site's input (-site).
	site payload.Site
}

// read moves entries from Redis to the router until ctx ends.
func (p *pipeline) read(ctx context.Context) {
	wait := backoff.New(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		room, err := p.window.waitRoom(ctx, refillRoom(p.batch, p.window.size))
		if err != nil || !p.waitLease(ctx) {
			return
		}
		entries, err := p.src.Read(ctx, min(room, p.batch))
		if lostLease(ctx) {
			// The read began while the lease was held, and what it
			// took stays pending in Redis for the next holder: none
			// of it goes to the router from here.
			return
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			retry := wait.Next()
			p.metrics.redisErrors.Inc()
			p.health.setRedis(false)
			p.log.Warn("cannot read from Redis; retrying", "source", p.src.Name(), "err", err, "retry_in", retry)
			_ = backoff.Sleep(ctx, retry) // the loop sees ctx's end
		} else {
			wait.Reset()
			p.health.setRedis(true)
		}
		p.forward(entries)
	}
}

// refillRoom is the room a full window waits for before the next read.
// Under a backlog the window stays full, and each settled batch frees a
// few dozen entries: reading as soon as one is free made reads of that
// size, and every hop after it (Redis, the router's state save, the
// publisher's write) pays per batch. Waiting for a batch's worth makes
// the reads full, while three quarters of the window stay in flight, so
// the hops after it never run dry. It costs no latency at low rates: the
// window is then nearly empty and a read finds room at once.
func refillRoom(batch, window int) int {
	return max(1, min(batch, window/4))
}

// forward checks each entry: good ones go to the router, bad ones straight
// to the dead letters.
func (p *pipeline) forward(entries []source.Entry) {
	read := time.Now()
	stamp := &readStamp{}
	events := make([]*bridgev1.Event, 0, len(entries))
	for _, e := range entries {
		if p.window.has(e.ID) {
			continue
		}
		p.metrics.read.Inc()
		p.metrics.observeAge(e.ID, read)
		p.window.addRead(e, stamp)
		ev, rej := e.Parse(p.limits)
		if rej != nil {
			p.log.Warn("refused an entry; it goes to the dead letters", "source", p.src.Name(), "id", e.ID, "cause", cause.Code(rej.Cause), "reason", rej.Reason)
			p.settled <- settled{entry: e, outcome: "rejected", rejected: &rejected{entry: e, cause: rej.Cause, reason: rej.Reason}}
			continue
		}
		if p.site.Name != "" {
			payload.SetSite(ev, p.site)
		}
		events = append(events, ev)
	}
	if len(events) > 0 {
		handed := time.Now()
		p.window.handed(stamp, handed)
		queue := handed.Sub(read).Seconds()
		for range events {
			p.metrics.queue.Observe(queue)
		}
	}
	p.link.Submit(events)
}

// answered is called by the link with the router's verdict on an event.
func (p *pipeline) answered(ev *bridgev1.Event, ack *bridgev1.EventAck) {
	now := time.Now()
	e, handed, ok := p.window.lookup(ev.GetId())
	if !ok {
		return
	}
	if !handed.IsZero() {
		p.metrics.router.Observe(now.Sub(handed).Seconds())
	}
	s := settled{entry: e, answered: now}
	switch ack.GetOutcome() {
	case bridgev1.Outcome_OUTCOME_DELIVERED:
		s.outcome = "delivered"
	case bridgev1.Outcome_OUTCOME_FILTERED:
		s.outcome = "filtered"
	default:
		s.outcome = "rejected"
		p.log.Warn("event refused downstream; it goes to the dead letters", "id", e.ID, "cause", cause.Code(ack.GetCause()), "stage", cause.Stage(ack.GetCause()), "reason", ack.GetReason())
		s.rejected = &rejected{entry: e, cause: ack.GetCause(), reason: ack.GetReason()}
	}
	p.settled <- s
}

// acknowledge writes dead letters and acknowledges settled entries in
// Redis, in batches, retrying until Redis takes them: an entry leaves the
// window (making room to read more) only once Redis has forgotten it.
func (p *pipeline) acknowledge(ctx context.Context) {
	_ = batch.Drain(ctx, p.settled, 512, func(batch []settled) error {
		p.settle(ctx, batch)
		return nil
	})
}

func (p *pipeline) settle(ctx context.Context, batch []settled) {
	var dead []rejected
	entries := make([]source.Entry, len(batch))
	for i, s := range batch {
		entries[i] = s.entry
		if s.rejected != nil {
			dead = append(dead, *s.rejected)
		}
	}
	// Only at shutdown does a retry give up. Then nothing more happens:
	// an entry acknowledged without its dead letter would be lost, and
	// one released from the window unacknowledged would be counted as
	// done; both stay pending in Redis for the next start instead.
	if len(dead) > 0 {
		if p.retry(ctx, "write dead letters", func() error { return p.dead.write(ctx, dead) }) != nil {
			return
		}
		for _, d := range dead {
			p.metrics.deadLetters.WithLabelValues(cause.Code(d.cause)).Inc()
		}
	}
	// The running total goes in the acknowledgement's round trip when the
	// source has one (XACK, LREM), on the first attempt only: HINCRBY is
	// not idempotent, and a retry after a lost reply would add the batch
	// twice. Like addIn it is best effort: its reply is not looked at.
	carrier, carries := p.src.(source.AckCarrier)
	count := func(pipe redis.Pipeliner) { p.totals.queueIn(ctx, pipe, len(batch)) }
	ack := func() error {
		if !carries {
			return p.src.Ack(ctx, entries)
		}
		also := count
		count = nil
		return carrier.AckCarrying(ctx, entries, also)
	}
	if p.retry(ctx, "acknowledge entries", ack) != nil {
		return
	}
	done := time.Now()
	for _, s := range batch {
		p.metrics.acked.WithLabelValues(s.outcome).Inc()
		if !s.answered.IsZero() {
			p.metrics.ack.Observe(done.Sub(s.answered).Seconds())
		}
	}
	p.window.release(entries)
	if !carries {
		p.totals.addIn(ctx, len(batch))
	}
}

// retry runs f until Redis takes it or ctx ends. Each call starts from the
// shortest wait: Redis is usually back by the next batch.
func (p *pipeline) retry(ctx context.Context, what string, f func() error) error {
	failed := false
	err := backoff.Retry(ctx, backoff.New(100*time.Millisecond, 5*time.Second), f, func(err error, wait time.Duration) {
		failed = true
		p.metrics.redisErrors.Inc()
		p.health.setRedis(false)
		p.log.Warn("Redis refused; retrying", "action", what, "err", err, "retry_in", wait)
	})
	if err == nil && failed {
		p.health.setRedis(true) // else only the next read would say Redis is back
	}
	return err
}

// routeStream adapts the generated client stream to relay.Stream.
type routeStream struct {
	routerv1.RouterService_RouteClient
}

func (s routeStream) Send(events []*bridgev1.Event) error {
	return relay.SendInParts(events, func(part []*bridgev1.Event) error {
		return s.RouterService_RouteClient.Send(&routerv1.RouteRequest{Events: part, SentAt: timestamppb.Now()})
	})
}

func (s routeStream) Recv() ([]*bridgev1.EventAck, error) {
	resp, err := s.RouterService_RouteClient.Recv()
	return resp.GetAcks(), err
}

// totals adds the events ingest settled to the running total across every
// replica, from which the gateway computes events per second. Every client
// it is sent on never retries (redisconn.NoRetryClient; the stream's and
// the list's are such too): HINCRBY is not idempotent, and a retry after a
// lost reply would add the batch to the total twice.
type totals struct{ rdb redis.UniversalClient }

// addIn is best effort: a batch missing from the total while Redis is away
// only makes one rate sample low, and must not hold up acknowledgements.
// It costs a round trip of its own, so it serves only a source whose
// acknowledgement cannot carry it (queueIn): the channel.
func (t totals) addIn(ctx context.Context, n int) {
	_ = t.rdb.HIncrBy(ctx, records.Counters, records.CounterEventsIn, int64(n)).Err()
}

// queueIn adds n to the total in pipe, an acknowledgement's round trip on
// a client that never retries.
func (totals) queueIn(ctx context.Context, pipe redis.Pipeliner, n int) {
	pipe.HIncrBy(ctx, records.Counters, records.CounterEventsIn, int64(n))
}
