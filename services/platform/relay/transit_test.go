package relay

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// histogramOf is what h holds: how many observations and their sum.
func histogramOf(t *testing.T, h prometheus.Histogram) (uint64, float64) {
	t.Helper()
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

// A request's hop is observed once per item it carries, as long as it
// took by the sender's stamp; a request from a release that stamps none
// is left out, and one stamped ahead of this clock counts as no time.
func TestTransitIsObservedOncePerItemFromTheSendersStamp(t *testing.T) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "transit_seconds"})
	ObserveTransit(h, nil, 5)
	if n, _ := histogramOf(t, h); n != 0 {
		t.Fatalf("an unstamped request was observed %d times, want none", n)
	}
	ObserveTransit(h, timestamppb.New(time.Now().Add(-20*time.Millisecond)), 3)
	n, sum := histogramOf(t, h)
	if n != 3 {
		t.Fatalf("a request of 3 items was observed %d times, want 3", n)
	}
	if each := sum / 3; each < 0.020 || each > 10 {
		t.Errorf("each observation is %.4fs, want the 20 ms since the stamp (and not absurdly more)", each)
	}
	ObserveTransit(h, timestamppb.New(time.Now().Add(time.Hour)), 1)
	if n, after := histogramOf(t, h); n != 4 || after != sum {
		t.Errorf("a stamp an hour ahead: %d observations adding %.4fs, want one adding 0", n-3, after-sum)
	}
	// A stamp no clock gives (a peer's bug or worse) is observed as the
	// longest time there is, not a crash or a negative time.
	ObserveTransit(h, &timestamppb.Timestamp{Seconds: math.MinInt64, Nanos: -1}, 1)
	if n, after := histogramOf(t, h); n != 5 || after-sum < 1e9 {
		t.Errorf("an absurd stamp: %d observations adding %gs, want one adding the longest time", n-4, after-sum)
	}
}
