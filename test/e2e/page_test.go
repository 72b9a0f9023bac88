package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// The monitoring page in a real browser (headless Chromium) against the
// whole system on real Redis and mosquitto: a tool's tile follows NEMO's
// events live, the sentence at the top says in words when the broker is
// gone, the feed filters by tool, refused events explain a missing admin
// token, and the test message shows its round-trip time. Screenshots of
// the page, healthy and broken, go to $SCREENSHOT_DIR (default
// test/e2e/screenshots).
func TestPageShowsTheBridgeToPeople(t *testing.T) {
	began := time.Now()
	step := func(what string) { t.Logf("%6.2fs %s", time.Since(began).Seconds(), what) }

	p := startPipeline(t, harness.PipelineOptions{})
	gw, err := p.StartGateway("-admin-token-file", secretFile(t, p.Env, "admin-token", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + gw.HTTPAddr
	rdb := p.Redis.Client(1)
	step("pipeline and gateway ready")

	// Some history, so that the page has something to show: a refused
	// entry, a free tool, a tool shut down by a problem, a tool in use
	// with a problem reported.
	started := time.Now().Add(-25 * time.Minute).UTC().Format(time.RFC3339)
	if err := rdb.XAdd(ctx(t), &redis.XAddArgs{Stream: "nemo:events", Values: []any{"event", "this is not JSON"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := harness.XAdd(ctx(t), rdb, "nemo:events", []string{
		`{"topic":"nemo/tools/13/enabled","payload":{"event":"tool_enabled","tool_id":13,"tool_name":"Oxford ICP","user_name":"Bob Lee","usage_id":70},"qos":1}`,
		`{"topic":"nemo/tools/13/disabled","payload":{"event":"tool_disabled","tool_id":13,"tool_name":"Oxford ICP","user_name":"Bob Lee","usage_id":70},"qos":1}`,
		`{"topic":"nemo/tools/14","payload":{"event":"tool_created","tool_id":14,"tool_name":"Zeiss SEM","tool_status":true,"timestamp":false},"qos":1}`,
		`{"topic":"nemo/tools/14/tasks","payload":{"event":"task_shutdown","task_id":5,"tool_id":14,"problem_description":"Chamber does not pump down","force_shutdown":true,"safety_hazard":false,"cancelled":false,"resolved":false},"qos":1}`,
		`{"topic":"nemo/tools/Heidelberg MLA/start","payload":{"event":"tool_usage_start","tool_id":15,"tool_name":"Heidelberg MLA","user_name":"Carol Diaz (staff)","usage_id":81,"start_time":"` + started + `"},"qos":1}`,
		`{"topic":"nemo/tools/15/tasks","payload":{"event":"task_created","task_id":6,"tool_id":15,"problem_description":"Stage drifts after an hour","force_shutdown":false,"safety_hazard":false,"cancelled":false,"resolved":false},"qos":1}`,
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, func() error {
		var list struct{ Tools []restTool }
		var dl struct {
			DeadLetters []struct{ Code string } `json:"dead_letters"`
		}
		getJSON(t, base+"/v1/tools", &list)
		getJSON(t, base+"/v1/dead-letters", &dl)
		if len(list.Tools) != 3 || len(dl.DeadLetters) != 1 {
			return fmt.Errorf("history not in yet: %d tools, %d dead letters", len(list.Tools), len(dl.DeadLetters))
		}
		return nil
	})
	step("history written")

	b := openBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1400, 1000), chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the sentence says everything works", 20*time.Second,
		`document.getElementById('summary').innerText.includes('Everything is working')`)
	b.waitFor("the tiles of the history", 5*time.Second, `document.querySelectorAll('#tools .tile').length === 3`)
	step("page open and healthy")

	// A tool's tile follows an event within 2 s of its write.
	written := time.Now()
	if err := harness.XAdd(ctx(t), rdb, "nemo:events", []string{
		`{"topic":"nemo/tools/12/start","payload":{"event":"tool_usage_start","tool_id":12,"tool_name":"Raith EBL","user_name":"Alice Martin","usage_id":77},"qos":1}`,
	}); err != nil {
		t.Fatal(err)
	}
	b.waitFor("Raith EBL's tile shows Alice Martin using it", 2*time.Second-time.Since(written), `(() => {
		const tile = document.querySelector('#tools .tile[data-tool-id="12"]');
		return !!tile && tile.innerText.includes('Alice Martin') && /in use/i.test(tile.innerText);
	})()`)
	step(fmt.Sprintf("tile updated %v after the write", time.Since(written).Round(time.Millisecond)))

	// The feed says it in words, and its tool filter hides other tools.
	b.waitFor("the feed says Alice Martin started using Raith EBL", 5*time.Second,
		`[...document.querySelectorAll('#feed .message')].some((li) => li.innerText.includes('Alice Martin started using Raith EBL'))`)
	b.do(choose("feed-tool", "12"))
	if got := b.eval(`(() => {
		const items = [...document.querySelectorAll('#feed .message')];
		const shown = items.filter((li) => !li.hidden);
		const otherHidden = items.filter((li) => li.dataset.toolId === '13').every((li) => li.hidden);
		const otherThere = items.some((li) => li.dataset.toolId === '13');
		return shown.length > 0 && shown.every((li) => li.dataset.toolId === '12') && otherThere && otherHidden
			? 'ok' : 'shown: ' + shown.map((li) => li.dataset.toolId + ' ' + li.innerText).join(' | ');
	})()`); got != "ok" {
		t.Errorf("feed filtered on tool 12: %s", got)
	}
	b.do(choose("feed-tool", ""))
	step("feed filtered by tool")

	// A refused event, and Replay without the admin token: told in words.
	b.waitFor("the refused entry is listed", 5*time.Second,
		`document.getElementById('dead-letters').innerText.includes('Not readable')`)
	b.do(chromedp.Click(chromedp.CSS("#dead-letters .replay")))
	b.waitFor("the page says the admin token is needed", 5*time.Second,
		`document.getElementById('dead-note').innerText.includes('needs the admin token')`)
	step("replay without the token explained")

	// A test message needs the admin token too; typed in, it comes back
	// with its round-trip time.
	b.do(chromedp.Click(chromedp.ID("test-button")))
	b.waitFor("the page says the test message needs the admin token", 5*time.Second,
		`document.getElementById('test-result').innerText.includes('needs the admin token')`)
	b.do(chromedp.SendKeys(chromedp.ID("admin-token"), "s3cret"))
	b.do(chromedp.Click(chromedp.ID("test-button")))
	b.waitFor("the test message with the token has an outcome", 15*time.Second, `(() => {
		const result = document.getElementById('test-result');
		return !!result.dataset.tone && !result.innerText.includes('admin token');
	})()`)
	if result := b.eval(`document.getElementById('test-result').innerText`); !regexp.MustCompile(`back in [0-9.]+ ms`).MatchString(result) {
		t.Errorf("Send a test message: the page says %q, want the round-trip time in ms", result)
	} else {
		t.Logf("test message: %s", result)
	}
	step("test message sent")

	// Without the displays profile nothing is retained for a screen: the
	// screen view says so in words, and Escape closes it.
	b.do(chromedp.Click(chromedp.CSS(`#tools .tile[data-tool-id="13"] .screen-button`)))
	b.waitFor("the screen view says nothing is retained for Oxford ICP", 10*time.Second, `(() => {
		const d = document.getElementById('screen-dialog');
		return d.open && d.innerText.includes('Nothing is retained for this tool’s screen') && d.innerText.includes('DISPLAYS=1');
	})()`)
	b.do(chromedp.KeyEvent("\x1b"))
	b.waitFor("Escape closes the screen view", 5*time.Second, `!document.getElementById('screen-dialog').open`)
	step("a screen with nothing retained told in words")

	b.screenshot("page-healthy.png")
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	b.screenshot("page-phone.png")
	b.do(chromedp.EmulateViewport(1400, 1000), darkMode(true))
	time.Sleep(500 * time.Millisecond) // colours ease into the new scheme
	b.screenshot("page-dark.png")
	b.do(darkMode(false))
	step("screenshots of the healthy page")

	// The broker goes: the sentence says so in words within 5 s.
	if err := p.Broker.Stop(); err != nil {
		t.Logf("mosquitto stop: %v", err)
	}
	stopped := time.Now()
	b.waitFor("the sentence says the broker cannot be reached", 5*time.Second,
		`/cannot reach the MQTT broker/.test(document.getElementById('summary').innerText)`)
	step(fmt.Sprintf("broker down told %v after it stopped", time.Since(stopped).Round(time.Millisecond)))
	if got := b.eval(`(() => {
		const broker = document.querySelector('#flow .step[data-hop="broker"]');
		return broker.dataset.state + ': ' + broker.innerText.replace(/\s+/g, ' ');
	})()`); !strings.HasPrefix(got, "bad: ") || !strings.Contains(got, "Not working") {
		t.Errorf("the broker's step in the flow: %q, want it marked bad and saying Not working", got)
	}
	t.Logf("the page says: %s", b.eval(`document.getElementById('summary').innerText`))
	b.screenshot("page-broken.png")
	step("screenshot of the broken page")

	// A browser without the live stream reads the REST API instead.
	b.do(withoutEventSource(), chromedp.Navigate(base+"/"))
	b.waitFor("the page without EventSource polls", 5*time.Second, `document.getElementById('connection').dataset.mode === 'polling'
		&& document.querySelectorAll('#tools .tile').length === 4
		&& /cannot reach the MQTT broker/.test(document.getElementById('summary').innerText)
		&& document.getElementById('feed').innerText.includes('Alice Martin started using Raith EBL')`)
	step("the page polls without EventSource")
	b.check()
}

// browserSession is one headless Chromium tab for a test, which collects
// the page's script errors.
type browserSession struct {
	t      *testing.T
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

// openBrowser starts headless Chromium, stopped when the test ends.
func openBrowser(t *testing.T) *browserSession {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed; the page is tested in a real browser (apt-get install chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	b := &browserSession{t: t, ctx: ctx}
	err = chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil {
				text += " " + d.Exception.Description
			}
			b.errors = append(b.errors, fmt.Sprintf("uncaught: %s at %s:%d", text, d.URL, d.LineNumber+1))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.errors = append(b.errors, "console.error: "+strings.Join(args, " "))
			}
		case *cdplog.EventEntryAdded:
			// Failed requests (a 401 on purpose) are the page's business;
			// a blocked resource (the content policy) or a script error is not.
			if e := ev.Entry; e.Level == cdplog.EntryLevelError && e.Source != cdplog.EntrySourceNetwork {
				b.errors = append(b.errors, fmt.Sprintf("%s: %s (%s)", e.Source, e.Text, e.URL))
			}
		}
	})
	if err != nil {
		t.Fatalf("start chromium (%s): %v", path, err)
	}
	return b
}

func (b *browserSession) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browserSession) eval(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return s
}

// waitFor polls expr in the page until it is true, for at most within.
func (b *browserSession) waitFor(what string, within time.Duration, expr string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](expr,
		chromedp.WithPollingTimeout(max(within, time.Millisecond)), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		b.t.Fatalf("%s: not within %v (%v)\nthe sentence: %s\nthe tools: %s\nthe feed: %s", what, within, err,
			b.eval(`document.getElementById('summary').innerText`),
			b.eval(`document.getElementById('tools').innerText`),
			b.eval(`document.getElementById('feed').innerText.slice(0, 600)`))
	}
}

// screenshot saves the whole page as PNG in $SCREENSHOT_DIR, or in
// test/e2e/screenshots.
func (b *browserSession) screenshot(name string) {
	b.t.Helper()
	b.screenshotWith(name, chromedp.FullScreenshot(100))
}

// screenshotWith saves what shot captures, e.g. only the viewport, where
// a modal dialog sits.
func (b *browserSession) screenshotWith(name string, shot chromedp.Action[[]byte]) {
	b.t.Helper()
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		dir = "screenshots"
	}
	png, err := chromedp.Run(b.ctx, shot)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	abs, _ := filepath.Abs(path)
	b.t.Logf("screenshot: %s", abs)
}

// check fails the test if the page had script errors.
func (b *browserSession) check() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		b.t.Errorf("the page: %s", e)
	}
}

// withoutEventSource makes the pages opened next lack EventSource, as an
// old browser or a proxy that breaks streams would.
func withoutEventSource() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: "delete window.EventSource;"})
		return err
	})
}

// choose picks an option of a <select> as a person would, change event
// included.
func choose(id, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const s = document.getElementById(%q);
		s.value = %q;
		s.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, id, value))
}

func darkMode(on bool) chromedp.Action[chromedp.Void] {
	scheme := "light"
	if on {
		scheme = "dark"
	}
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}
