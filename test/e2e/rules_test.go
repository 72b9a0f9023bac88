package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

const (
	rulesPlugin = `version: 1
rules:
  - name: plugin-topics
    publish:
      - topic: "{prefix}{topic}"
`
	// rulesWithCopies adds a second topic per event.
	rulesWithCopies = `version: 1
rules:
  - name: copies
    match: {event: tool_enabled}
    publish:
      - topic: "{prefix}copies/{tool_id}"
    continue: true
  - name: plugin-topics
    publish:
      - topic: "{prefix}{topic}"
`
	// rulesBroken has a mistake on line 6.
	rulesBroken = `version: 1
rules:
  - name: plugin-topics
    publish:
      - topic: "{prefix}{topic}"
        qso: 1
`
)

// replaceFile writes a new file and renames it over path, as Kubernetes
// and editors replace files: a reader sees the old file or the new one.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".new-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func rulesClient(t *testing.T, router *harness.Service) routerv1.RouterServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(router.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return routerv1.NewRouterServiceClient(conn)
}

func rulesInForce(t *testing.T, c routerv1.RouterServiceClient) *routerv1.Rules {
	t.Helper()
	resp, err := c.GetRules(ctx(t), &routerv1.GetRulesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetRules()
}

// writePaced writes evs in small batches spread over about d, so that a
// reload lands while events flow.
func writePaced(p *harness.Pipeline, evs []harness.TestEvent, d time.Duration) <-chan error {
	const batch = 50
	return writeInBatches(p, evs, batch, d/time.Duration((len(evs)+batch-1)/batch))
}

// checkCopies checks the copies topic: for each tool, the events from the
// one the new rules first routed up to last, each once at least and in
// order, and nothing from before the file was replaced. It returns how
// many distinct events had a copy.
func checkCopies(msgs []harness.Message, tools, last int, replacedAt time.Time) (int, error) {
	first := make([]int, tools)
	next := make([]int, tools)
	for i := range first {
		first[i] = -1
	}
	seen := map[[2]int]bool{}
	for _, m := range msgs {
		var e harness.TestEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil || e.ToolID < 0 || e.ToolID >= tools || m.Topic != fmt.Sprintf("copies/%d", e.ToolID) {
			return len(seen), fmt.Errorf("unexpected message on %s: %s", m.Topic, m.Payload)
		}
		if m.ReceivedAt.Before(replacedAt) {
			return len(seen), fmt.Errorf("tool %d event %d arrived on the copies topic before the rules file was replaced", e.ToolID, e.Seq)
		}
		key := [2]int{e.ToolID, e.Seq}
		if seen[key] {
			continue
		}
		seen[key] = true
		if first[e.ToolID] < 0 {
			first[e.ToolID], next[e.ToolID] = e.Seq, e.Seq
		}
		if e.Seq != next[e.ToolID] {
			return len(seen), fmt.Errorf("tool %d: copy of event %d arrived when %d was next", e.ToolID, e.Seq, next[e.ToolID])
		}
		next[e.ToolID]++
	}
	for tool, n := range next {
		if first[tool] < 0 || n != last+1 {
			return len(seen), fmt.Errorf("tool %d: copies up to %d of %d so far", tool, n-1, last)
		}
	}
	return len(seen), nil
}

// The router takes a new rules file while events flow, without losing or
// reordering any, and refuses a broken one (here on the NEMO plugin's
// control channel) keeping the rules in force.
func TestRulesReloadWhileEventsFlow(t *testing.T) {
	t.Parallel()
	const tools, flowing, after, late = 10, 200, 20, 10 // events per tool in each phase
	path := filepath.Join(t.TempDir(), "rules.yaml")
	replaceFile(t, path, rulesPlugin)
	p := startPipeline(t, harness.PipelineOptions{Router: []string{"-rules", path}})
	plugin := subscribe(t, p, "nemo/tools/+/enabled")
	copies := subscribe(t, p, "copies/#")
	rc := rulesClient(t, p.Router)
	before := rulesInForce(t, rc).GetVersion()

	// 2,000 events over about 2 s; the file is replaced half a second in.
	written := writePaced(p, harness.Events(tools*flowing, tools, 0), 2*time.Second)
	time.Sleep(500 * time.Millisecond)
	replacedAt := time.Now()
	replaceFile(t, path, rulesWithCopies)
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	var taken string
	eventually(t, 15*time.Second, func() error {
		if taken = rulesInForce(t, rc).GetVersion(); taken == before {
			return fmt.Errorf("rules version still %s: the new file was not taken", before)
		}
		return nil
	})
	t.Logf("new rules %s in force %s after the file was replaced", taken, time.Since(replacedAt).Round(time.Millisecond))
	// Events written once the new rules are in force certainly get a copy.
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", harness.Envelopes(harness.Events(tools*after, tools, flowing))); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, plugin, tools, flowing+after, 60*time.Second)
	waitCopies := func(last int) {
		t.Helper()
		if err := copies.WaitFor(30*time.Second, func(msgs []harness.Message) (bool, string) {
			n, err := checkCopies(msgs, tools, last, replacedAt)
			if err != nil && !strings.Contains(err.Error(), "so far") {
				t.Fatal(err)
			}
			return err == nil, fmt.Sprintf("%d distinct copies (%v)", n, err)
		}); err != nil {
			t.Fatal(err)
		}
	}
	waitCopies(flowing + after - 1)
	n, _ := checkCopies(copies.Messages(), tools, flowing+after-1, replacedAt)
	t.Logf("%d of the %d events written while the file was replaced got a copy", n-tools*after, tools*flowing)

	// A broken file, and the plugin's reload command: refused, every
	// mistake reported by line, the rules in force stay.
	replaceFile(t, path, rulesBroken)
	control := p.Redis.Client(1)
	defer control.Close()
	lineSix := regexp.MustCompile(regexp.QuoteMeta(path) + `:6:\d+: rules\[0\]\.publish\[0\]\.qso: `)
	eventually(t, 15*time.Second, func() error {
		if receivers, err := control.Publish(ctx(t), "nemo_mqtt_bridge_control", "reload_config").Result(); err != nil || receivers == 0 {
			return fmt.Errorf("reload_config reached %d subscribers (%v)", receivers, err)
		}
		return nil
	})
	// The file watch refuses the file too; the log tells the two apart.
	eventually(t, 15*time.Second, func() error {
		log, err := os.ReadFile(filepath.Join(p.Env.Dir, "router.log"))
		if err != nil || !regexp.MustCompile(`level=ERROR msg="rules file refused.*trigger=reload_config`).Match(log) {
			return fmt.Errorf("the router logged no refusal of reload_config (%v)", err)
		}
		return nil
	})
	r := rulesInForce(t, rc)
	if r.GetVersion() != taken || !lineSix.MatchString(r.GetLastError()) || r.GetLastErrorAt() == nil {
		t.Fatalf("GetRules after a broken file: version %s (want %s), last error %q at %v", r.GetVersion(), taken, r.GetLastError(), r.GetLastErrorAt())
	}

	// Events still flow, on both topics.
	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", harness.Envelopes(harness.Events(tools*late, tools, flowing+after))); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, plugin, tools, flowing+after+late, 30*time.Second)
	waitCopies(flowing + after + late - 1)
	nothingPending(t, p)
}
