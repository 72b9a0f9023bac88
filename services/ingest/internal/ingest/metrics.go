package ingest

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	read        prometheus.Counter
	acked       *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	redisErrors prometheus.Counter
	// otherConsumers is what the last look at the list's database found.
	otherConsumers prometheus.Gauge
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
	reg.MustRegister(m.read, m.acked, m.deadLetters, m.redisErrors, m.otherConsumers, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nemo_ingest_in_flight",
		Help: "Entries read and not yet acknowledged; at most -window.",
	}, inFlight))
	return m
}
