package router

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
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
	snap, err := b.current().Snapshot(&statusv1.Tool{Id: 1}, &bridgev1.Event{})
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
