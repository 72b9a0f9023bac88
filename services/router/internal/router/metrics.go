package router

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events   *prometheus.CounterVec
	messages prometheus.Counter
	pending  prometheus.GaugeFunc
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
	reg.MustRegister(m.events, m.messages, m.pending)
	return m
}
