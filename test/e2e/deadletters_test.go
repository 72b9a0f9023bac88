package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

func TestMalformedEntriesGoToDeadLettersAndTheRestIsDelivered(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{Ingest: []string{"-max-payload-bytes", "1024"}})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	rdb := p.Redis.Client(1)
	bad := []struct{ code, entry string }{
		{"not_json", `this is not json`},
		{"missing_topic", `{"payload":"{\"tool_id\":1}","qos":1}`},
		{"payload_too_large", `{"topic":"nemo/tools/1/enabled","payload":"` + strings.Repeat("x", 2000) + `","qos":1}`},
		{"invalid_qos", `{"topic":"nemo/tools/1/enabled","payload":"{}","qos":7}`},
		{"invalid_payload", `{"topic":"nemo/tools/1/enabled","payload":42,"qos":1}`},
	}
	good := harness.Events(60, 3, 0)
	var envs []string
	for i, e := range harness.Envelopes(good) {
		envs = append(envs, e)
		if i%10 == 5 {
			envs = append(envs, bad[(i/10)%len(bad)].entry)
		}
	}
	if err := harness.XAdd(ctx(t), rdb, "nemo:events", envs); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, 3, 20, 30*time.Second)
	nothingPending(t, p)

	dead, err := rdb.XRange(ctx(t), "nemo:events:dead", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]redis.XMessage{}
	for _, d := range dead {
		byCode[d.Values["code"].(string)] = d
	}
	for _, b := range bad {
		d, ok := byCode[b.code]
		if !ok {
			t.Errorf("no dead letter with code %s (got %d dead letters)", b.code, len(dead))
			continue
		}
		if d.Values["reason"] == "" || d.Values["stage"] != "ingest" || d.Values["source"] != "stream nemo:events" {
			t.Errorf("%s: dead letter %v lacks its reason, stage or source", b.code, d.Values)
		}
		if !strings.Contains(d.Values["entry"].(string), strings.ReplaceAll(b.entry[:min(12, len(b.entry))], `"`, `\"`)) {
			t.Errorf("%s: dead letter keeps %q, not the original entry", b.code, d.Values["entry"])
		}
	}
	if n, _ := p.Ingest.Metric(`nemo_ingest_dead_letters_total{code="not_json"}`); n < 1 {
		t.Errorf("nemo_ingest_dead_letters_total{code=\"not_json\"} = %v", n)
	}
}
