package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

type restDisplay struct {
	Messages []struct {
		Topic       string `json:"topic"`
		PayloadText string `json:"payload_text"`
		Retain      bool   `json:"retain"`
		ToolID      int32  `json:"tool_id"`
	} `json:"messages"`
	ServerStatus string `json:"server_status"`
}

// payloadOn decodes the retained payload on topic, nil when there is none.
func (d restDisplay) payloadOn(topic string) map[string]any {
	for _, m := range d.Messages {
		if m.Topic == topic {
			var p map[string]any
			if json.Unmarshal([]byte(m.PayloadText), &p) == nil {
				return p
			}
		}
	}
	return nil
}

// With the displays profile on, a tool's tile opens a picture of what its
// screen shows now, drawn from the broker's retained messages (GET
// /v1/tools/{id}/display): the user without NEMO's role suffix, In use,
// the time in the lab's zone, Shut down, the task, the bridge online.
func TestPageShowsAToolsScreen(t *testing.T) {
	began := time.Now()
	step := func(what string) { t.Logf("%6.2fs %s", time.Since(began).Seconds(), what) }

	p := startPipeline(t, harness.PipelineOptions{
		Router:    []string{"-displays", "-display-timezone", "America/Los_Angeles"},
		Publisher: []string{"-presence-topic", "nemo/server/status"},
	})
	gw, err := p.StartGateway()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + gw.HTTPAddr
	step("pipeline and gateway ready")

	var bad restError
	if code := getJSON(t, base+"/v1/tools/0/display", &bad); code != http.StatusBadRequest || bad.Message == "" {
		t.Errorf("GET /v1/tools/0/display = %d %+v, want 400 with a message", code, bad)
	}

	if err := harness.XAdd(ctx(t), p.Redis.Client(1), "nemo:events", []string{
		`{"topic":"nemo/tools/12/start","payload":{"event":"tool_usage_start","tool_id":12,"tool_name":"Raith EBL","user_name":"Alice Martin (Staff)","usage_id":77,"start_time":"2026-11-24T18:03:00Z"},"qos":1}`,
		`{"topic":"nemo/tools/12/tasks","payload":{"event":"task_shutdown","task_id":5,"tool_id":12,"problem_description":"Pump failed\nCall the vendor","force_shutdown":true,"safety_hazard":false,"cancelled":false,"resolved":false},"qos":1}`,
	}); err != nil {
		t.Fatal(err)
	}

	// REST: what a screen connecting now reads, as the broker keeps it.
	eventually(t, 30*time.Second, func() error {
		var d restDisplay
		if code := getJSON(t, base+"/v1/tools/12/display", &d); code != http.StatusOK {
			return fmt.Errorf("GET /v1/tools/12/display = %d", code)
		}
		status := d.payloadOn("nemo/esp32/12/status")
		operational := d.payloadOn("nemo/esp32/12/operational")
		tasks := d.payloadOn("nemo/esp32/12/tasks")
		switch {
		case status == nil || status["event_type"] != "active" || status["user_name"] != "Alice Martin" || status["timestamp"] != "Nov 24, 10:03 AM":
			return fmt.Errorf("status on the screen: %v", status)
		case operational == nil || operational["operational"] != false:
			return fmt.Errorf("operational on the screen: %v", operational)
		case tasks == nil || !strings.Contains(fmt.Sprint(tasks["tasks"]), "Pump failed"):
			return fmt.Errorf("tasks on the screen: %v", tasks)
		case d.ServerStatus != "online":
			return fmt.Errorf("server_status %q, want online", d.ServerStatus)
		}
		for _, m := range d.Messages {
			if !m.Retain || m.ToolID != 12 || !strings.HasPrefix(m.Topic, "nemo/esp32/12/") {
				return fmt.Errorf("message %+v: want retained, tool 12, a screen topic of tool 12", m)
			}
		}
		return nil
	})
	step("GET /v1/tools/12/display reads the screen's retained messages")

	b := openBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1400, 1000), chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	b.waitFor("Raith EBL's tile", 20*time.Second, `!!document.querySelector('#tools .tile[data-tool-id="12"] .screen-button')`)
	b.do(chromedp.Click(chromedp.CSS(`#tools .tile[data-tool-id="12"] .screen-button`)))
	b.waitFor("the screen of Raith EBL is drawn", 10*time.Second, `(() => {
		const d = document.getElementById('screen-dialog');
		return d.open && !!d.querySelector('.screen');
	})()`)
	screen := b.eval(`document.querySelector('#screen-dialog .screen').innerText`)
	t.Logf("the screen shows:\n%s", screen)
	for _, want := range []string{"Raith EBL", "In use", "Alice Martin", "Nov 24, 10:03 AM", "Shut down", "Pump failed", "Online"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen does not show %q", want)
		}
	}
	if strings.Contains(screen, "Staff") {
		t.Errorf("the screen shows NEMO's role suffix: %q", screen)
	}
	if got := b.eval(`document.getElementById('screen-title').innerText`); got != "What Raith EBL’s screen shows" {
		t.Errorf("dialog title %q", got)
	}
	if got := b.eval(`document.querySelector('#screen-dialog .screen-raw').innerText`); !strings.Contains(got, "retained messages (4)") {
		t.Errorf("the raw messages: %q, want 4 retained", got)
	}
	// The viewport, where the modal dialog sits over the page (a full-page
	// capture stretches the viewport and leaves the dialog adrift).
	b.screenshotWith("page-display.png", chromedp.CaptureScreenshot())
	step("the screen drawn in the page")

	// Refresh reads again; Escape closes and gives focus back to the tile.
	b.do(chromedp.Click(chromedp.ID("screen-refresh")))
	b.waitFor("the refresh is done", 10*time.Second, `(() => {
		const r = document.getElementById('screen-refresh');
		return !r.disabled && document.getElementById('screen-note').innerText.startsWith('Read from the broker');
	})()`)
	b.do(chromedp.KeyEvent("\x1b"))
	b.waitFor("Escape closes the screen and focus is back on the tile's button", 5*time.Second, `(() => {
		const a = document.activeElement;
		return !document.getElementById('screen-dialog').open && !!a && a.matches('#tools .tile[data-tool-id="12"] .screen-button');
	})()`)
	step("refreshed, closed with Escape")
	b.check()
}
