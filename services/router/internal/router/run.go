package router

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publisherreads"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

// Run runs the router until ctx is cancelled.
func Run(ctx context.Context, o Options) error {
	return service.Run(ctx, o.Service, func(rt *service.Runtime) (func(context.Context) error, error) {
		settings, err := o.rulesSettings()
		if err != nil {
			return nil, fmt.Errorf("the router does not start: %w", err)
		}
		cfg := rulesConfig{prefix: o.TopicPrefix, displays: o.Displays, settings: settings}
		book, err := openRulebook(o.RulesFile, cfg, rt.Log, rt.Metrics)
		if err != nil {
			return nil, fmt.Errorf("rules refused, the router does not start:\n%w", err)
		}
		publishers, err := dialShards(rt.DialPeer, o.PublisherAddr)
		if err != nil {
			return nil, err
		}
		var rdb redis.UniversalClient
		var state *stateKeeper
		if o.RedisURL != "" {
			// Named as the bridge's: the router pops the plugin's control
			// list, and ingest must not take it for another consumer.
			redisCfg, err := redisconn.Parse("redis-url", o.RedisURL, "router")
			if err != nil {
				return nil, err
			}
			rdb = redisCfg.Client()
			state = newStateKeeper(rdb, o.Stream, rt.Log)
		} else {
			rt.Log.Warn("no -redis-url: the router keeps no tool state and publishes no status snapshots")
		}
		stopping, stop := context.WithCancel(context.Background())
		srv := &server{rules: book, tracker: newTracker(), stopping: stopping, state: state, log: rt.Log}
		if rdb != nil {
			srv.recent = newRecentLog(rdb, o.RecentMessages, rt.Log, rt.Metrics)
		}
		shardOpen := newShardGauge(rt.Metrics)
		srv.link = newShards(publishers.holding, rt.Log, publishers.links(rt.Log, srv.settled, rt.SetServing, shardOpen)...)
		srv.metrics = newMetrics(rt.Metrics, func() float64 { return float64(srv.link.Pending()) })
		rt.Metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nemo_router_tools_held",
			Help: "Tools new to this router whose messages wait until every other publisher shard holds nothing of them (after a restart, or a change in the shards).",
		}, func() float64 { return float64(srv.link.Held()) }))
		routerv1.RegisterRouterServiceServer(rt.GRPC, srv)
		return func(ctx context.Context) error {
			go book.watch(ctx)
			if rdb != nil {
				go srv.state.open(ctx)
				go srv.recent.run(ctx)
				// With built-in rules too: the plugin's list must never
				// grow, whatever rules this router has.
				go consumeControlList(ctx, rdb, rt.Log)
				if o.RulesFile != "" {
					go followControl(ctx, rdb, book, rt.Log)
				}
				defer rdb.Close()
			}
			err := srv.link.Run(ctx)
			stop()
			publishers.close()
			return err
		}, nil
	})
}

// publishStream adapts the generated client stream to relay.Stream.
type publishStream struct {
	publisherv1.PublisherService_PublishClient
	// readsEventID: the publisher announced that it reads
	// Message.event_id. Until its first answer, when its header is sure to
	// be there, the router sends the id the older way, which every
	// release reads: waiting for the header before sending would wait
	// forever on an older publisher, which sends it with its first answer.
	readsEventID atomic.Bool
	heard        bool // Recv has read the header; Recv's goroutine only
}

func (s *publishStream) Send(msgs []*bridgev1.Message) error {
	if !s.readsEventID.Load() {
		msgs = withEventIDProperty(msgs)
	}
	return relay.SendInParts(msgs, func(part []*bridgev1.Message) error {
		return s.PublisherService_PublishClient.Send(&publisherv1.PublishRequest{Messages: part, SentAt: timestamppb.Now()})
	})
}

// withEventIDProperty is msgs for a publisher of a release before
// Message.event_id: copies with the event's id in user_properties, where it
// reads it. The messages themselves are left as they are, since the relay
// may send them again to another publisher.
func withEventIDProperty(msgs []*bridgev1.Message) []*bridgev1.Message {
	out := make([]*bridgev1.Message, len(msgs))
	for i, m := range msgs {
		out[i] = m
		if id := m.GetEventId(); id != "" {
			c := proto.CloneOf(m)
			c.EventId = ""
			if c.UserProperties == nil {
				c.UserProperties = map[string]string{}
			}
			c.UserProperties[publisherreads.EventIDProperty] = id
			out[i] = c
		}
	}
	return out
}

func (s *publishStream) Recv() ([]*publisherv1.PublishResult, error) {
	resp, err := s.PublisherService_PublishClient.Recv()
	if err == nil && !s.heard {
		s.heard = true
		md, _ := s.Header() // at hand: an answer came
		s.readsEventID.Store(slices.Contains(md.Get(publisherreads.Header), publisherreads.EventID))
	}
	return resp.GetResults(), err
}

type metrics struct {
	events   *prometheus.CounterVec
	messages prometheus.Counter
	pending  prometheus.GaugeFunc
	// stages is the router's share of an event's latency; transit, route
	// and publish are its observers, looked up once.
	stages                  *prometheus.HistogramVec
	transit, route, publish prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, pending func() float64) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nemo_router_events_total",
			Help: "Events routed, by outcome: delivered, filtered, rejected.",
		}, []string{"outcome"}),
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nemo_router_messages_total",
			Help: "MQTT messages handed to the publisher.",
		}),
		pending: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nemo_router_messages_pending",
			Help: "Messages handed to the publisher and not yet acknowledged by the broker.",
		}, pending),
	}
	m.stages = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "nemo_router_stage_seconds",
		Help: "Time an event spends in each stage of the router, one observation per event, by stage: " +
			"transit (ingest sent its Route request until the router received it: the gRPC hop, by the two services' clocks), " +
			"route (its Route batch received until its first messages were handed to the publisher link: sequence screen, rules, messages built, and the tool state saved in Redis first when the rules read it), " +
			"publish (handed to the publisher until its last message, its tool's snapshot included, was settled, by the broker's PUBACK or a refusal, and its EventAck went on the reply stream).",
		// Log-spaced from 50 µs to 6.5 s, and +Inf.
		Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18),
	}, []string{"stage"})
	m.transit, m.route, m.publish = m.stages.WithLabelValues("transit"), m.stages.WithLabelValues("route"), m.stages.WithLabelValues("publish")
	reg.MustRegister(m.events, m.messages, m.pending, m.stages)
	return m
}

// newShardGauge reports, per publisher shard, whether the router has a
// stream open to its active publisher: a shard at 0 holds its tools'
// messages until its standby takes over.
func newShardGauge(reg prometheus.Registerer) func(shard string, open bool) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "nemo_router_publisher_shard_connected",
		Help: "1 while the router has a stream open to the shard's active publisher, 0 while the shard's tools wait for one.",
	}, []string{"shard"})
	reg.MustRegister(g)
	return func(shard string, open bool) {
		v := 0.0
		if open {
			v = 1
		}
		g.WithLabelValues(shard).Set(v)
	}
}

// rulesMetrics tell which rules are in force and whether edits to them were
// taken, so that an alert can fire on a refused edit.
type rulesMetrics struct {
	info     *prometheus.GaugeVec
	reloads  *prometheus.CounterVec
	loadedAt prometheus.Gauge
}

func newRulesMetrics(reg prometheus.Registerer) *rulesMetrics {
	m := &rulesMetrics{
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "nemo_router_rules_info",
			Help: "1 for the version of the routing rules in force.",
		}, []string{"version"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nemo_router_rules_reloads_total",
			Help: "Reloads of the rules file, by result: ok (new rules in force), refused (the file has mistakes or cannot be read; the rules in force stay).",
		}, []string{"result"}),
		loadedAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nemo_router_rules_loaded_timestamp_seconds",
			Help: "When the rules in force were loaded, in Unix seconds.",
		}),
	}
	// Both results exist from the start, so that a rate over them works
	// before the first reload.
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("refused")
	reg.MustRegister(m.info, m.reloads, m.loadedAt)
	return m
}

// inForce records the rules that now route events.
func (m *rulesMetrics) inForce(version string, at time.Time) {
	m.info.Reset()
	m.info.WithLabelValues(version).Set(1)
	m.loadedAt.Set(float64(at.UnixNano()) / 1e9)
}
