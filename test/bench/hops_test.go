package main

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

const metricsBefore = `# HELP nemo_ingest_entry_age_seconds How old an entry is when ingest reads it.
# TYPE nemo_ingest_entry_age_seconds histogram
nemo_ingest_entry_age_seconds_bucket{le="0.001"} 10
nemo_ingest_entry_age_seconds_bucket{le="0.002"} 90
nemo_ingest_entry_age_seconds_bucket{le="+Inf"} 100
nemo_ingest_entry_age_seconds_sum 0.2
nemo_ingest_entry_age_seconds_count 100
# TYPE nemo_ingest_stage_seconds histogram
nemo_ingest_stage_seconds_bucket{stage="decode",le="+Inf"} 100
nemo_ingest_stage_seconds_sum{stage="decode"} 0.01
nemo_ingest_stage_seconds_count{stage="decode"} 100
nemo_ingest_stage_seconds_sum{stage="route"} 0.1
nemo_ingest_stage_seconds_count{stage="route"} 100
# TYPE nemo_ingest_in_flight gauge
nemo_ingest_in_flight 3
# a histogram that is not a hop
nemo_ingest_batch_size_sum 500
nemo_ingest_batch_size_count 100
`

const metricsAfter = `# TYPE nemo_ingest_entry_age_seconds histogram
nemo_ingest_entry_age_seconds_bucket{le="0.001"} 510
nemo_ingest_entry_age_seconds_bucket{le="0.002"} 1090
nemo_ingest_entry_age_seconds_bucket{le="+Inf"} 1100
nemo_ingest_entry_age_seconds_sum 1.2 1700000000000
nemo_ingest_entry_age_seconds_count 1100
nemo_ingest_stage_seconds_sum{stage="decode"} 0.06
nemo_ingest_stage_seconds_count{stage="decode"} 1100
nemo_ingest_stage_seconds_sum{stage="route"} 0.1
nemo_ingest_stage_seconds_count{stage="route"} 100
nemo_ingest_stage_seconds_sum{ stage="odd \"quoted\" }",code="x"} 2
nemo_ingest_stage_seconds_count{ stage="odd \"quoted\" }",code="x"} 1000
nemo_ingest_in_flight 0
nemo_ingest_batch_size_sum 5000
nemo_ingest_batch_size_count 1100
`

func TestParseHopsKeepsOnlyHopHistograms(t *testing.T) {
	got, err := parseHops(strings.NewReader(metricsAfter))
	if err != nil {
		t.Fatal(err)
	}
	want := []hopSeries{
		{family: "nemo_ingest_entry_age_seconds", sum: 1.2, count: 1100,
			buckets: []bucket{{0.001, 510}, {0.002, 1090}, {math.Inf(1), 1100}}},
		{family: "nemo_ingest_stage_seconds", labels: `stage="decode"`, sum: 0.06, count: 1100},
		{family: "nemo_ingest_stage_seconds", labels: `stage="route"`, sum: 0.1, count: 100},
		{family: "nemo_ingest_stage_seconds", labels: `code="x",stage="odd \"quoted\" }"`, sum: 2, count: 1000},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d series %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("series %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestHopTableShowsEachSeriesMeanOverThePhase(t *testing.T) {
	before, _ := parseHops(strings.NewReader(metricsBefore))
	after, _ := parseHops(strings.NewReader(metricsAfter))
	rows := hopDeltas("ingest", before, after)
	// route gained nothing, so it is left out; the odd series is new.
	wantMeans := map[string]time.Duration{
		"nemo_ingest_entry_age_seconds{}":                              time.Millisecond, // (1.2-0.2)/1000
		`nemo_ingest_stage_seconds{stage="decode"}`:                    50 * time.Microsecond,
		`nemo_ingest_stage_seconds{code="x",stage="odd \"quoted\" }"}`: 2 * time.Millisecond,
	}
	if len(rows) != len(wantMeans) {
		t.Fatalf("got %d rows %+v, want %d", len(rows), rows, len(wantMeans))
	}
	for _, r := range rows {
		key := r.family + "{" + r.labels + "}"
		want, ok := wantMeans[key]
		if !ok {
			t.Errorf("unexpected row %s", key)
			continue
		}
		if d := r.mean - want; d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("%s: mean %s, want %s", key, r.mean, want)
		}
	}
	// 1,000 new entries: 500 up to 1 ms, 500 more up to 2 ms, 10 beyond.
	// The 990th is 490 of 500 into the (1, 2] ms bucket.
	for _, r := range rows {
		if r.family == "nemo_ingest_entry_age_seconds" && (!r.hasP99 || r.p99 != 1980*time.Microsecond) {
			t.Errorf("entry age p99 = %s (%v), want 1.98ms", r.p99, r.hasP99)
		}
		if r.family == "nemo_ingest_stage_seconds" && r.hasP99 {
			t.Errorf("%s has no buckets but a p99 of %s", r.labels, r.p99)
		}
	}
	var out bytes.Buffer
	hopTable(&out, rows, 4*time.Millisecond, 9*time.Millisecond)
	text := out.String()
	for _, want := range []string{
		"nemo_ingest_entry_age_seconds ", "1.00ms", "1.98ms", "25%", // 1 ms of 4 ms
		"9.00ms",
		`nemo_ingest_stage_seconds{stage="decode"}`, "0.05ms",
		"XADD→subscriber", "4.00ms",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "no per-hop") {
		t.Errorf("table says none exposed:\n%s", text)
	}
}

func TestHopTableSaysWhenNoneAreExposed(t *testing.T) {
	none, err := parseHops(strings.NewReader("# TYPE up gauge\nup 1\nnemo_x_total{code=\"a\"} 3\n"))
	if err != nil || len(none) != 0 {
		t.Fatalf("got %v, %v", none, err)
	}
	var out bytes.Buffer
	hopTable(&out, hopDeltas("router", none, none), 3*time.Millisecond, 5*time.Millisecond)
	if !strings.Contains(out.String(), "(no per-hop histograms exposed)") || !strings.Contains(out.String(), "3.00ms") {
		t.Errorf("got:\n%s", out.String())
	}
}

// A quantile in the +Inf bucket is the largest finite bound; one of no
// observations is none.
func TestQuantileAtTheEdges(t *testing.T) {
	beyond := []bucket{{0.001, 10}, {0.002, 20}, {math.Inf(1), 100}}
	if q, ok := quantile(0.99, beyond); !ok || q != 0.002 {
		t.Errorf("p99 in +Inf = %v, %v; want 0.002", q, ok)
	}
	if q, ok := quantile(0.5, []bucket{{0.001, 100}, {math.Inf(1), 100}}); !ok || q != 0.0005 {
		t.Errorf("p50 of 100 in the first bucket = %v, %v; want 0.0005", q, ok)
	}
	if _, ok := quantile(0.99, []bucket{{0.001, 0}, {math.Inf(1), 0}}); ok {
		t.Error("a quantile of no observations")
	}
}
