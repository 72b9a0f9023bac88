package e2e

import (
	"slices"
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
	// mention is what the reason must say, where one code covers several.
	bad := []struct{ code, entry, mention string }{
		{"not_json", `this is not json`, "not a JSON object"},
		{"missing_topic", `{"payload":"{\"tool_id\":1}","qos":1}`, ""},
		{"payload_too_large", `{"topic":"nemo/tools/1/enabled","payload":"` + strings.Repeat("x", 2000) + `","qos":1}`, ""},
		{"invalid_qos", `{"topic":"nemo/tools/1/enabled","payload":"{}","qos":7}`, ""},
		{"invalid_payload", `{"topic":"nemo/tools/1/enabled","payload":42,"qos":1}`, ""},
		// A good envelope with bytes glued after it: publishing the
		// envelope would hide a broken writer.
		{"not_json", `{"topic":"nemo/tools/99/enabled","payload":"{\"tool_id\":99}","qos":1}xyz`, "3 bytes after its JSON object, at byte 70"},
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
	byCode := map[string][]redis.XMessage{}
	for _, d := range dead {
		byCode[d.Values["code"].(string)] = append(byCode[d.Values["code"].(string)], d)
	}
	for _, b := range bad {
		i := slices.IndexFunc(byCode[b.code], func(d redis.XMessage) bool {
			return strings.Contains(d.Values["reason"].(string), b.mention)
		})
		if i < 0 {
			t.Errorf("no dead letter with code %s whose reason says %q (got %d dead letters)", b.code, b.mention, len(dead))
			continue
		}
		d := byCode[b.code][i]
		if d.Values["reason"] == "" || d.Values["stage"] != "ingest" || d.Values["source"] != "stream nemo:events" {
			t.Errorf("%s: dead letter %v lacks its reason, stage or source", b.code, d.Values)
		}
		if !strings.Contains(d.Values["entry"].(string), strings.ReplaceAll(b.entry[:min(12, len(b.entry))], `"`, `\"`)) {
			t.Errorf("%s: dead letter keeps %q, not the original entry", b.code, d.Values["entry"])
		}
	}
	if n, _ := p.Ingest.Metric(`nemo_ingest_dead_letters_total{code="not_json"}`); n < 2 {
		t.Errorf("nemo_ingest_dead_letters_total{code=\"not_json\"} = %v, want 2", n)
	}
	for _, m := range sub.Messages() {
		if m.Topic == "nemo/tools/99/enabled" {
			t.Errorf("the envelope with bytes after it was published: %s", m.Payload)
		}
	}
}
