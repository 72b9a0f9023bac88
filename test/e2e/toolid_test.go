package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// NEMO writes a tool id as 12; hand-made entries and older plugins as
// 12.0, "12" or " 12 ". All four are tool 12 everywhere: one ordering key
// (so the broker gets them in the order NEMO wrote them), one tool state
// that all four events fold into, one tool in REST, and tool 12 in the
// recent-messages feed. 12.0 used to be a second ordering key, so a
// second worker with no order against 12.
func TestEveryWayNEMOWritesAToolIDIsTheSameTool(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	gw, err := p.StartGateway()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := p.Subscribe("nemo/tools/12/+")
	if err != nil {
		t.Fatal(err)
	}
	events := []string{
		`{"topic":"nemo/tools/12/enabled","payload":{"event":"tool_enabled","tool_id":12,"tool_name":"Raith EBL","user_name":"Ada Lovelace (ada)","usage_id":7},"qos":1}`,
		`{"topic":"nemo/tools/12/tasks","payload":{"event":"task_created","tool_id":12.0,"task_id":5,"problem_description":"pump","force_shutdown":true},"qos":1}`,
		`{"topic":"nemo/tools/12/tasks","payload":{"event":"task_updated","tool_id":"12","task_id":5,"resolved":true},"qos":1}`,
		`{"topic":"nemo/tools/12/operational","payload":{"event":"tool_operational","tool_id":" 12 "},"qos":1}`,
	}
	// One at a time: each its own batch, so that nothing but the ordering
	// key keeps them in order.
	for _, e := range events {
		if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", []string{e}); err != nil {
			t.Fatal(err)
		}
	}

	wantTopics := []string{"nemo/tools/12/enabled", "nemo/tools/12/tasks", "nemo/tools/12/tasks", "nemo/tools/12/operational"}
	if err := sub.WaitFor(20*time.Second, func(msgs []harness.Message) (bool, string) {
		var got []string
		for _, m := range msgs {
			if m.Topic != "nemo/tools/12/status" {
				got = append(got, m.Topic)
			}
		}
		return len(got) >= len(wantTopics), fmt.Sprint(got)
	}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range sub.Messages() {
		if m.Topic != "nemo/tools/12/status" {
			got = append(got, m.Topic)
		}
	}
	if !slices.Equal(got, wantTopics) {
		t.Errorf("the broker got %v, want NEMO's order %v", got, wantTopics)
	}

	base := "http://" + gw.HTTPAddr
	var list struct {
		Tools []struct {
			ID          int32  `json:"id"`
			Name        string `json:"name"`
			Operational bool   `json:"operational"`
			Problematic bool   `json:"problematic"`
			LastEvent   string `json:"last_event"`
			LastUser    string `json:"last_user"`
		} `json:"tools"`
	}
	eventually(t, 20*time.Second, func() error {
		if code := getJSON(t, base+"/v1/tools", &list); code != http.StatusOK {
			return fmt.Errorf("GET /v1/tools: %d", code)
		}
		if len(list.Tools) != 1 || list.Tools[0].LastEvent != "tool_operational" {
			return fmt.Errorf("GET /v1/tools = %+v, want tool 12 alone, last told tool_operational", list.Tools)
		}
		return nil
	})
	if tool := list.Tools[0]; tool.ID != 12 || tool.Name != "Raith EBL" || !tool.Operational || tool.Problematic || tool.LastUser != "Ada Lovelace (ada)" {
		t.Errorf("tool 12 = %+v; want Raith EBL, last used by Ada, its task (opened with 12.0, resolved with \"12\") closed", tool)
	}
	if keys, err := p.Redis.Client(1).HKeys(ctx(t), "nemo:bridge:tools").Result(); err != nil || !slices.Equal(keys, []string{"12"}) {
		t.Errorf("the router keeps the state of tools %v (%v), want 12 alone", keys, err)
	}

	var feed struct {
		Messages []struct {
			Topic  string `json:"topic"`
			ToolID int32  `json:"tool_id"`
		} `json:"messages"`
	}
	eventually(t, 10*time.Second, func() error {
		getJSON(t, base+"/v1/messages?tool_id=12&topic_filter=nemo/tools/12/%2B", &feed)
		var topics []string
		for _, m := range feed.Messages {
			if m.ToolID == 12 && !strings.HasSuffix(m.Topic, "/status") {
				topics = append(topics, m.Topic)
			}
		}
		if len(topics) != len(wantTopics) {
			return fmt.Errorf("the feed of tool 12 holds %v, want the %d event messages", topics, len(wantTopics))
		}
		return nil
	})
}
