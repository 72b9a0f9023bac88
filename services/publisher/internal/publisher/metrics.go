package publisher

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	messages  *prometheus.CounterVec
	connected prometheus.Gauge
	// active is 1 while this publisher may hold the session: it holds the
	// lease, or runs without one.
	active   prometheus.Gauge
	latency  prometheus.Histogram
	replaced prometheus.Counter
	// stageTransit, stageQueue and stageBroker are the publisher's hops of
	// an event's walk, for the table of where its time goes.
	stageTransit, stageQueue, stageBroker prometheus.Observer
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nemo_publisher_messages_total",
			Help: "Publish attempts by result: ok (acknowledged), refused (dead-lettered), retry.",
		}, []string{"result"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nemo_publisher_connected",
			Help: "1 while the MQTT session with the broker is up.",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nemo_publisher_active",
			Help: "1 while this publisher holds the lease of its client id (or runs without a lease) and owns the MQTT session, connected or not; 0 while it stands by.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nemo_publisher_publish_seconds",
			Help:    "Time from sending a publish to the broker's acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		replaced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nemo_publisher_messages_replaced_total",
			Help: "Messages left unsent because a newer one took their place while they waited (a tool's status snapshot, when a newer one came): answered with the newer one's answer.",
		}),
	}
	stage := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "nemo_publisher_stage_seconds",
		Help:    "Time a message spends in each of the publisher's stages: transit (the router sent its Publish request until the publisher received it: the gRPC hop, by the two services' clocks), queue (received from the router until first written to the broker) and broker (written until the broker's answer, each attempt).",
		Buckets: prometheus.ExponentialBuckets(0.00005, 2, 18),
	}, []string{"stage"})
	m.stageTransit, m.stageQueue, m.stageBroker = stage.WithLabelValues("transit"), stage.WithLabelValues("queue"), stage.WithLabelValues("broker")
	reg.MustRegister(m.messages, m.connected, m.active, m.latency, m.replaced, stage)
	return m
}
