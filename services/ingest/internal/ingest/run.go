package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/backoff"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/envelope"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/lease"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/streamid"
)

// Run runs ingest until ctx is cancelled.
func Run(ctx context.Context, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	redisCfg, err := redisconn.Parse("redis-url", o.RedisURL, "ingest")
	if err != nil {
		return err
	}
	if redisCfg.Kind() == redisconn.Cluster && o.Mode == "list" && !records.SameSlot(o.List, o.ProcessingList) {
		return fmt.Errorf("-processing-list %q and -list %q are in different hash slots of the Redis Cluster, and list mode moves entries between them in one command: leave -processing-list empty ({list}:processing) or give both the same {hash tag}", o.ProcessingList, o.List)
	}
	bridgeCfg, err := bridgeRedis(o, redisCfg)
	if err != nil {
		return err
	}
	leaseRedis := openLeaseRedis(o, bridgeCfg)
	if leaseRedis != nil {
		defer leaseRedis.Close()
	}
	// The stream, the list and the totals make clients of their own that
	// never retry (see source.NewStream, source.NewList, totals).
	return service.Run(ctx, o.Service, func(rt *service.Runtime) (func(context.Context) error, error) {
		rdb := redisCfg.Client()
		p := &pipeline{
			log:     rt.Log,
			limits:  envelope.Limits{MaxPayloadBytes: o.MaxPayloadBytes},
			batch:   o.BatchSize,
			window:  newWindow(o.Window, o.WindowBytes),
			settled: make(chan settled, o.Window),
			health:  &healthState{report: rt.SetServing, standby: leaseRedis != nil},
			dead:    &deadLetters{rdb: rdb, stream: o.DeadLetterStream, maxLen: o.DeadLetterMaxLen},
			totals:  totals{rdb: bridgeCfg.NoRetryClient()},
			site:    payload.Site{Name: o.Site, TopicPrefix: o.SiteTopicPrefix, DisplayTimezone: o.SiteDisplayTimezone},
		}
		p.metrics = newMetrics(rt.Metrics, func() float64 { return float64(p.window.len()) })
		link, closeRouters, err := dialRouters(rt.DialPeer, o.routerAddrs, routerDeps{
			log: rt.Log, metrics: newRouterMetrics(rt.Metrics), answered: p.answered,
			serving: p.health.setRouter, maxBatch: o.BatchSize, failover: o.RouterFailover,
		})
		if err != nil {
			rdb.Close()
			p.totals.rdb.Close()
			return nil, err
		}
		p.link = link
		active := activeGauge(rt.Metrics)
		// read reads the input until ctx ends: for good without a lease,
		// else for one term of holding it (see leased).
		read := func(ctx context.Context) error {
			src, err := openSource(ctx, rdb, redisCfg, o, p)
			if err != nil {
				return err
			}
			if c, ok := src.(io.Closer); ok {
				defer c.Close()
			}
			p.src, p.dead.input = src, src.Input()
			if o.Site != "" && o.LeaseRedisURL != "" {
				go syncSite(ctx, p.totals.rdb, rdb, rt.Log)
			}
			rt.Log.Info("reading events", "source", src.Name(), "redis", redisCfg.Addr(), "db", redisCfg.DB())
			if o.Mode == "list" {
				warnEventsElsewhere(ctx, rdb, o.List, rt.Log)
				if o.ListCheckEvery > 0 {
					go watchConsumers(ctx, rdb, o.List, o.ListCheckEvery, rt.Log, p.metrics.otherConsumers)
				}
			}
			return p.run(ctx, drainTime(o.Service.ShutdownTimeout))
		}
		return func(ctx context.Context) error {
			defer closeRouters()
			defer rdb.Close()
			defer p.totals.rdb.Close()
			if leaseRedis == nil {
				active.Set(1)
				return read(ctx)
			}
			held := lease.New(leaseRedis, o.leaseKey(), "ingest", o.LeaseTTL, rt.Log)
			p.mayRead = mayRead(held)
			var fence func(context.Context)
			if o.Mode != "pubsub" {
				fence = readerFence(rdb, o.readerName(), rt.Log)
			}
			return leased(ctx, held, rt.Log, active, p.health, fence, read)
		}, nil
	})
}

// run moves events until ctx ends, then stops reading and gives what is in
// flight time to be acknowledged; what is not stays in Redis for next time.
func (p *pipeline) run(ctx context.Context, drain time.Duration) error {
	background, stop := context.WithCancel(context.Background())
	defer stop()
	linkDone := make(chan struct{})
	go func() { defer close(linkDone); _ = p.link.Run(background) }()
	ackDone := make(chan struct{})
	go func() { defer close(ackDone); p.acknowledge(background) }()

	p.read(ctx)

	if lostLease(ctx) {
		// Another ingest may read soon: nothing more goes to the router
		// or is acknowledged here (see abandon).
		stop()
		<-linkDone
		<-ackDone
		if n := p.abandon(); n > 0 {
			p.log.Warn("lost the ingest lease with events in flight; they stay pending in Redis for the next holder", "in_flight", n)
		}
		return nil
	}
	drainCtx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := p.window.waitEmpty(drainCtx); err != nil {
		p.log.Warn("stopping with events in flight; they stay pending in Redis and are read again at the next start", "in_flight", p.window.len())
	}
	stop()
	<-linkDone
	<-ackDone
	return nil
}

// openSource connects to the configured input, waiting for Redis if needed.
func openSource(ctx context.Context, rdb redis.UniversalClient, redisCfg redisconn.Config, o Options, p *pipeline) (source.Source, error) {
	var src source.Source
	err := backoff.Retry(ctx, backoff.New(2*time.Second, 2*time.Second), func() (err error) {
		src, err = newSource(ctx, rdb, redisCfg, o, p.log)
		return err
	}, func(err error, wait time.Duration) {
		p.health.setRedis(false)
		p.log.Warn("cannot reach Redis; retrying", "err", err, "retry_in", wait)
	})
	if err != nil {
		return nil, err
	}
	p.health.setRedis(true)
	return src, nil
}

func newSource(ctx context.Context, rdb redis.UniversalClient, redisCfg redisconn.Config, o Options, log *slog.Logger) (source.Source, error) {
	switch o.Mode {
	case "list":
		if err := carryProcessingList(ctx, rdb, o, log); err != nil {
			return nil, err
		}
		return source.NewList(ctx, redisCfg.WithName(o.readerName()), o.List, o.ProcessingList, log)
	case "pubsub":
		if err := rdb.Ping(ctx).Err(); err != nil {
			return nil, err
		}
		return source.NewPubSub(ctx, rdb, o.Channel), nil
	}
	return source.NewStream(ctx, redisCfg.WithName(o.readerName()), o.Stream, log)
}

// drainTime leaves part of the shutdown timeout for closing connections.
func drainTime(shutdown time.Duration) time.Duration {
	return shutdown * 8 / 10
}

// healthState is ready when Redis answers, a router stream is open (with
// several routers, any one: the others' tools wait or move), and this
// ingest is not standing by for the lease of its input.
type healthState struct {
	mu            sync.Mutex
	redis, router bool
	standby       bool
	report        func(bool)
}

func (h *healthState) setRedis(ok bool)      { h.update(func() { h.redis = ok }) }
func (h *healthState) setRouter(ok bool)     { h.update(func() { h.router = ok }) }
func (h *healthState) setStandby(stand bool) { h.update(func() { h.standby = stand }) }

func (h *healthState) update(change func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	change()
	h.report(h.redis && h.router && !h.standby)
}

type metrics struct {
	read        prometheus.Counter
	acked       *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	redisErrors prometheus.Counter
	// otherConsumers is what the last look at the list's database found.
	otherConsumers prometheus.Gauge
	// entryAge and the stages are each hop's share of an event's latency.
	entryAge prometheus.Histogram
	stages   *prometheus.HistogramVec
	// queue, router and ack are stages' observers, looked up once.
	queue, router, ack prometheus.Observer
}

// latencyBuckets are log-spaced from 50 µs to about 6.5 s, and +Inf: a
// hop's share of an event's latency, from an idle pipeline to a broker
// outage.
var latencyBuckets = prometheus.ExponentialBuckets(0.00005, 2, 18)

// observeAge observes how long the entry with id waited in the stream
// before it was read at read: its id's milliseconds are when XADD stamped
// it, by Redis's clock. Entries of the list and the channel have no time
// in their ids and are not observed.
func (m *metrics) observeAge(id string, read time.Time) {
	sid, ok := streamid.Parse(id)
	if !ok {
		return
	}
	m.entryAge.Observe(max(read.Sub(sid.Time()).Seconds(), 0)) // below 0: the clocks differ
}

func newMetrics(reg prometheus.Registerer, inFlight func() float64) *metrics {
	m := &metrics{
		read: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nemo_ingest_events_read_total",
			Help: "Entries read from Redis.",
		}),
		acked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nemo_ingest_events_acked_total",
			Help: "Entries acknowledged in Redis, by outcome: delivered, filtered, rejected.",
		}, []string{"outcome"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nemo_ingest_dead_letters_total",
			Help: "Entries moved to the dead-letter stream, by reason code.",
		}, []string{"code"}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nemo_ingest_redis_errors_total",
			Help: "Failed Redis reads, acknowledgements and dead-letter writes (each is retried).",
		}),
		otherConsumers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nemo_ingest_other_list_consumers",
			Help: "List mode: other programs seen taking entries from lists in the database ingest reads (the NEMO plugin's own MQTT bridge, left on?), at the last check.",
		}),
	}
	m.entryAge = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "nemo_ingest_entry_age_seconds",
		Help:    "Stream input: how long an entry waited in the stream before ingest read it, from the time in its stream id (XADD, by Redis's clock) to the read. The id holds whole milliseconds, so under a millisecond this reads up to 1 ms high (0.5 ms on average). The list and the channel are not observed.",
		Buckets: latencyBuckets,
	})
	m.stages = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "nemo_ingest_stage_seconds",
		Help: "Time an event spends in each stage of ingest, one observation per event, by stage: " +
			"queue (read from Redis until handed to the link to the router: decoding, and the batch it was read with), " +
			"router (handed to the router until its answer, the EventAck, came: the router, the publisher and the broker's PUBACK), " +
			"ack (the answer came until XACK, after the dead letter if rejected, was done in Redis).",
		Buckets: latencyBuckets,
	}, []string{"stage"})
	m.queue, m.router, m.ack = m.stages.WithLabelValues("queue"), m.stages.WithLabelValues("router"), m.stages.WithLabelValues("ack")
	reg.MustRegister(m.read, m.acked, m.deadLetters, m.redisErrors, m.otherConsumers, m.entryAge, m.stages, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nemo_ingest_in_flight",
		Help: "Entries read and not yet acknowledged; at most -window.",
	}, inFlight))
	return m
}

// carryProcessingList brings the entries in flight that a version before
// Cluster support left in list + ":processing" to the processing list's
// current name ({list}:processing, in the list's hash slot), so that they
// are read again first and nothing is lost across the upgrade.
func carryProcessingList(ctx context.Context, rdb redis.UniversalClient, o Options, log *slog.Logger) error {
	old := o.List + ":processing"
	if o.ProcessingList != records.ProcessingList(o.List) {
		return nil // named by -processing-list: used as it is
	}
	done, err := records.CarryOver(ctx, rdb, old, o.ProcessingList)
	if err != nil {
		return fmt.Errorf("carry the processing list %s over to %s: %w", old, o.ProcessingList, err)
	}
	switch done {
	case records.Renamed, records.Merged:
		log.Info("moved the entries in flight of an earlier version to the processing list's new name", "old", old, "processing_list", o.ProcessingList)
	case records.CannotMerge:
		log.Warn("a key under the processing list's old name is not a list; left alone", "old", old, "processing_list", o.ProcessingList)
	}
	return nil
}
