package publisher

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	messages  *prometheus.CounterVec
	connected prometheus.Gauge
	latency   prometheus.Histogram
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
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nemo_publisher_publish_seconds",
			Help:    "Time from sending a publish to the broker's acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
	}
	reg.MustRegister(m.messages, m.connected, m.latency)
	return m
}
