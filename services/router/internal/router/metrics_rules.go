package router

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

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
