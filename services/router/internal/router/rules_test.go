package router

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/rules"
)

func topicFor(t *testing.T, b *rulebook, topic string) string {
	t.Helper()
	msgs, _, err := b.current().Apply(&bridgev1.Event{Topic: topic}, nil)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("apply: %v, %d messages", err, len(msgs))
	}
	return msgs[0].GetTopic()
}

func TestTopicPrefixReplacesTheFilesOnlyWhenGiven(t *testing.T) {
	path := rulesFile(t, "prefix: file/\n"+rulesV1)
	if got := topicFor(t, newTestBook(t, path, ""), "a"); got != "file/a" {
		t.Errorf("without -topic-prefix: %q, want the file's prefix", got)
	}
	b := newTestBook(t, path, "site1/")
	snap, err := b.current().SnapshotDoc(&statusv1.Tool{Id: 1}, nil, &bridgev1.Event{})
	if got := topicFor(t, b, "a"); got != "site1/a" || err != nil || snap.GetTopic() != "site1/nemo/tools/1/status" {
		t.Errorf("with -topic-prefix: %q, snapshot on %q (%v)", got, snap.GetTopic(), err)
	}
	writeFile(t, path, "prefix: other/\n"+rulesV2)
	if changed, err := b.reload("test"); err != nil || !changed {
		t.Fatalf("reload: %v %v", changed, err)
	}
	if got := topicFor(t, b, "a"); got != "site1/a" {
		t.Errorf("after a reload: %q, want -topic-prefix still", got)
	}
	if got := topicFor(t, newTestBook(t, "", "site1/"), "a"); got != "site1/a" {
		t.Errorf("built-in rules with -topic-prefix: %q", got)
	}
}

func TestBadRulesStopTheStart(t *testing.T) {
	_, err := openRulebook(rulesFile(t, rulesBroken), rulesConfig{}, testLog(t), prometheus.NewRegistry())
	if err == nil || !strings.Contains(err.Error(), "rules.yaml:6:9:") {
		t.Errorf("got %v, want the mistake by line and column", err)
	}
	if _, err := openRulebook("", rulesConfig{prefix: "a/+/"}, testLog(t), prometheus.NewRegistry()); err == nil {
		t.Error("a prefix with a wildcard was accepted")
	}
}

// Kubernetes mounts a ConfigMap as rules.yaml -> ..data/rules.yaml, with
// ..data a symlink to a timestamped directory; an update writes a new
// directory and renames a new symlink over ..data. The file's name and
// modification time stay, yet the router must take the new rules.
func TestWatchFollowsAConfigMapUpdate(t *testing.T) {
	dir := t.TempDir()
	publish := func(name, content string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "rules.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(name, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish("..2025_10_14_18_00_01.1", rulesV1)
	path := filepath.Join(dir, "rules.yaml")
	if err := os.Symlink(filepath.Join("..data", "rules.yaml"), path); err != nil {
		t.Fatal(err)
	}
	b := newTestBook(t, path, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.watch(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * rulesPoll); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after %s; rules %v", what, 5*rulesPoll, b.info())
			}
		}
	}
	publish("..2025_10_14_18_05_02.2", rulesV2)
	waitFor("new rules in force", func() bool { return b.current().Version() == version(t, rulesV2) })

	publish("..2025_10_14_18_10_03.3", rulesBroken)
	waitFor("broken update refused", func() bool { return strings.Contains(b.info().GetLastError(), "rules.yaml:6:9:") })
	if v := b.current().Version(); v != version(t, rulesV2) {
		t.Errorf("version %s in force after a broken update, want %s", v, version(t, rulesV2))
	}
}

// version is what the router reports for a rules file's content.
func version(t *testing.T, content string) string {
	t.Helper()
	s, err := rules.Parse("rules.yaml", []byte(content))
	if err != nil {
		t.Fatal(err)
	}
	return s.Version()
}

// ignoreTimes leaves out the timestamps, which the test checks apart.
var ignoreTimes = protocmp.IgnoreFields(&routerv1.Rules{}, "loaded_at", "last_error_at")

func TestRulesRPCs(t *testing.T) {
	ctx := context.Background()
	path := rulesFile(t, rulesV1)
	book := newTestBook(t, path, "")
	client := serve(t, &server{rules: book})

	got, err := client.GetRules(ctx, &routerv1.GetRulesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := &routerv1.Rules{Version: version(t, rulesV1), Source: path, RuleNames: []string{"plugin-topics"}}
	if diff := cmp.Diff(want, got.GetRules(), protocmp.Transform(), ignoreTimes); diff != "" {
		t.Errorf("GetRules at start (-want +got):\n%s", diff)
	}
	startedAt := got.GetRules().GetLoadedAt().AsTime()
	if startedAt.IsZero() {
		t.Error("no loaded_at")
	}

	t.Run("unchanged file", func(t *testing.T) {
		resp, err := client.ReloadRules(ctx, &routerv1.ReloadRulesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetChanged() || resp.GetRules().GetVersion() != version(t, rulesV1) || !resp.GetRules().GetLoadedAt().AsTime().Equal(startedAt) {
			t.Errorf("reload of the same file: %v", resp)
		}
	})

	t.Run("good reload", func(t *testing.T) {
		writeFile(t, path, rulesV2)
		resp, err := client.ReloadRules(ctx, &routerv1.ReloadRulesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		want := &routerv1.ReloadRulesResponse{Changed: true, Rules: &routerv1.Rules{
			Version: version(t, rulesV2), Source: path, RuleNames: []string{"displays", "no-reservations", "plugin-topics"}}}
		if diff := cmp.Diff(want, resp, protocmp.Transform(), ignoreTimes); diff != "" {
			t.Errorf("ReloadRules (-want +got):\n%s", diff)
		}
		if !resp.GetRules().GetLoadedAt().AsTime().After(startedAt) {
			t.Error("loaded_at did not move")
		}
	})

	t.Run("dry run", func(t *testing.T) {
		ev := &bridgev1.Event{Id: "9-0", Topic: "nemo/tools/12/enabled", Payload: []byte(`{"event":"tool_enabled","tool_id":12}`), Qos: 1, OrderingKey: "tool:12"}
		resp, err := client.DryRun(ctx, &routerv1.DryRunRequest{Event: ev})
		if err != nil {
			t.Fatal(err)
		}
		msg := func(topic string) *bridgev1.Message {
			return &bridgev1.Message{Topic: topic, Payload: ev.GetPayload(), Qos: 1, OrderingKey: "tool:12", ToolId: proto.Int32(12), ContentType: "application/json",
				EventId: "9-0"}
		}
		want := &routerv1.DryRunResponse{
			Messages:     []*bridgev1.Message{msg("displays/12"), msg("nemo/tools/12/enabled")},
			MatchedRules: []string{"displays", "plugin-topics"},
			RulesVersion: version(t, rulesV2),
		}
		if diff := cmp.Diff(want, resp, protocmp.Transform()); diff != "" {
			t.Errorf("DryRun (-want +got):\n%s", diff)
		}

		resp, err = client.DryRun(ctx, &routerv1.DryRunRequest{Event: &bridgev1.Event{Id: "9-1", Payload: []byte(`{"event":"x"}`)}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(resp.GetError(), `rule "plugin-topics"`) || len(resp.GetMessages()) != 0 {
			t.Errorf("DryRun of an event without a topic: %v, want an error naming the rule and no messages", resp)
		}
	})

	t.Run("refused reload keeps the rules", func(t *testing.T) {
		writeFile(t, path, rulesBroken)
		_, err := client.ReloadRules(ctx, &routerv1.ReloadRulesRequest{})
		mistake := path + ":6:9: rules[0].publish[0].qso: unknown field"
		if status.Code(err) != codes.InvalidArgument || !strings.HasPrefix(status.Convert(err).Message(), mistake) {
			t.Fatalf("ReloadRules of a broken file: %v, want InvalidArgument naming %s", err, mistake)
		}
		got, err := client.GetRules(ctx, &routerv1.GetRulesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		r := got.GetRules()
		if r.GetVersion() != version(t, rulesV2) || !strings.HasPrefix(r.GetLastError(), mistake) || r.GetLastErrorAt() == nil {
			t.Errorf("GetRules after a refused reload: %v, want version %s and the error", r, version(t, rulesV2))
		}
		dry, _ := client.DryRun(ctx, &routerv1.DryRunRequest{Event: &bridgev1.Event{Topic: "t"}})
		if dry.GetRulesVersion() != version(t, rulesV2) {
			t.Errorf("dry run with version %s after a refused reload", dry.GetRulesVersion())
		}
	})

	t.Run("fixed file clears the error", func(t *testing.T) {
		writeFile(t, path, rulesV2)
		resp, err := client.ReloadRules(ctx, &routerv1.ReloadRulesRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetChanged() || resp.GetRules().GetLastError() != "" || resp.GetRules().GetLastErrorAt() != nil {
			t.Errorf("reload of the file in force again: %v, want unchanged and no error", resp)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		m := book.metrics
		if n := testutil.CollectAndCount(m.info); n != 1 {
			t.Errorf("nemo_router_rules_info has %d series, want only the version in force", n)
		}
		if v := testutil.ToFloat64(m.info.WithLabelValues(version(t, rulesV2))); v != 1 {
			t.Errorf("rules_info for the version in force = %v", v)
		}
		if ok, refused := testutil.ToFloat64(m.reloads.WithLabelValues("ok")), testutil.ToFloat64(m.reloads.WithLabelValues("refused")); ok != 1 || refused != 1 {
			t.Errorf("reloads ok %v refused %v, want 1 and 1", ok, refused)
		}
		if at := testutil.ToFloat64(m.loadedAt); at <= float64(startedAt.Unix()) {
			t.Errorf("loaded timestamp %v is not after the start %v", at, startedAt.Unix())
		}
	})
}

func TestReloadWithoutRulesFileIsRefused(t *testing.T) {
	client := serve(t, &server{rules: newTestBook(t, "", "")})
	_, err := client.ReloadRules(context.Background(), &routerv1.ReloadRulesRequest{})
	if status.Code(err) != codes.FailedPrecondition || status.Convert(err).Message() != errBuiltIn.Error() {
		t.Fatalf("got %v, want FailedPrecondition: %v", err, errBuiltIn)
	}
	got, err := client.GetRules(context.Background(), &routerv1.GetRulesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if r := got.GetRules(); r.GetSource() != "" || r.GetVersion() != rules.Default().Version() || r.GetLastError() != "" {
		t.Errorf("built-in rules reported as %v", r)
	}
}

func TestDryRunWithoutEvent(t *testing.T) {
	client := serve(t, &server{rules: newTestBook(t, "", "")})
	if _, err := client.DryRun(context.Background(), &routerv1.DryRunRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("got %v, want InvalidArgument", err)
	}
}
