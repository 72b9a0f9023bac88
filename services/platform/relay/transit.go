package relay

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ObserveTransit observes on h, once for each of a request's items, how
// long the request took from its sender (sentAt, by the sender's clock)
// to now: the gRPC hop between two services, which the stages inside
// each service leave out. A request that carries no time (from a release
// before sent_at) is left out; one from a clock ahead of this one counts
// as 0.
func ObserveTransit(h prometheus.Observer, sentAt *timestamppb.Timestamp, items int) {
	if sentAt == nil {
		return
	}
	took := max(time.Since(sentAt.AsTime()), 0).Seconds()
	for range items {
		h.Observe(took)
	}
}
