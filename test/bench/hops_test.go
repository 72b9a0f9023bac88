package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const metricsBefore = `# HELP nemo_ingest_entry_age_seconds How old an entry is when ingest reads it.
# TYPE nemo_ingest_entry_age_seconds histogram
nemo_ingest_entry_age_seconds_bucket{le="0.001"} 10
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
		{family: "nemo_ingest_entry_age_seconds", sum: 1.2, count: 1100},
		{family: "nemo_ingest_stage_seconds", labels: `stage="decode"`, sum: 0.06, count: 1100},
		{family: "nemo_ingest_stage_seconds", labels: `stage="route"`, sum: 0.1, count: 100},
		{family: "nemo_ingest_stage_seconds", labels: `code="x",stage="odd \"quoted\" }"`, sum: 2, count: 1000},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d series %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
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
	var out bytes.Buffer
	hopTable(&out, rows, 4*time.Millisecond)
	text := out.String()
	for _, want := range []string{
		"nemo_ingest_entry_age_seconds ", "1.00ms", "25%", // 1 ms of 4 ms
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
	hopTable(&out, hopDeltas("router", none, none), 3*time.Millisecond)
	if !strings.Contains(out.String(), "(no per-hop histograms exposed)") || !strings.Contains(out.String(), "3.00ms") {
		t.Errorf("got:\n%s", out.String())
	}
}
