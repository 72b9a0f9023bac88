package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// With several NEMO sites, the page groups the tiles under a heading per
// site, and two sites' tool 12 are two tiles, each in its own group and
// showing its own state; the default site's tools stay together under a
// heading of their own. The state is written into Redis as the routers
// keep it, so that the page is tested against the stored form.
func TestPageGroupsToolsBySite(t *testing.T) {
	began := time.Now()
	step := func(what string) { t.Logf("%6.2fs %s", time.Since(began).Seconds(), what) }

	p := startPipeline(t, harness.PipelineOptions{})
	gw, err := p.StartGateway()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + gw.HTTPAddr
	rdb := p.Redis.Client(1)
	step("pipeline and gateway ready")

	put := func(site string, tool *statusv1.Tool) {
		t.Helper()
		doc, err := records.MarshalTool(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := rdb.HSet(ctx(t), records.SiteTools(site), tool.GetId(), doc).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rdb.HSet(ctx(t), records.Sites, "north", "north/", "south", "south/").Err(); err != nil {
		t.Fatal(err)
	}
	put("north", &statusv1.Tool{Id: 12, Name: "Zeiss SEM", InUse: true, User: "Ada Byron", Operational: true,
		LastEvent: "tool_usage_start", Site: siteNamed("north")})
	put("south", &statusv1.Tool{Id: 12, Name: "Oxford ICP", Operational: false, Shutdown: true,
		LastEvent: "tool_non_operational", Site: siteNamed("south")})
	put("", &statusv1.Tool{Id: 7, Name: "Raith EBL", Operational: true, LastUser: "Bob Lee", LastEvent: "tool_usage_end"})
	step("two sites and the default site seeded")

	// REST: each site's tool 12 is its own; the default site has none.
	var north, south restTool
	if code := getJSON(t, base+"/v1/sites/north/tools/12", &north); code != http.StatusOK || north.Name != "Zeiss SEM" || !north.InUse {
		t.Errorf("GET /v1/sites/north/tools/12 = %d %+v, want Zeiss SEM in use", code, north)
	}
	if code := getJSON(t, base+"/v1/sites/south/tools/12", &south); code != http.StatusOK || south.Name != "Oxford ICP" || south.Operational {
		t.Errorf("GET /v1/sites/south/tools/12 = %d %+v, want Oxford ICP shut down", code, south)
	}
	if north.Name == south.Name {
		t.Errorf("north's and south's tool 12 are both %q", north.Name)
	}
	var none restError
	if code := getJSON(t, base+"/v1/tools/12", &none); code != http.StatusNotFound {
		t.Errorf("GET /v1/tools/12 = %d %+v, want 404: the default site has no tool 12", code, none)
	}
	var sites struct {
		Sites []struct {
			Name        string `json:"name"`
			TopicPrefix string `json:"topic_prefix"`
		} `json:"sites"`
	}
	if code := getJSON(t, base+"/v1/sites", &sites); code != http.StatusOK || len(sites.Sites) != 2 ||
		sites.Sites[0].Name != "north" || sites.Sites[1].Name != "south" || sites.Sites[0].TopicPrefix != "north/" {
		t.Errorf("GET /v1/sites = %d %+v, want north then south", code, sites)
	}
	step("REST keeps the sites apart")

	b := openBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1400, 1000), chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	b.waitFor("three groups of tiles", 20*time.Second, `document.querySelectorAll('#tools .site-group').length === 3
		&& document.querySelectorAll('#tools .tile').length === 3`)
	step("page open, tiles grouped")

	// The groups: north, south, then the default site's, each headed.
	if got := b.eval(`[...document.querySelectorAll('#tools .site-group')].map((g) =>
		JSON.stringify(g.dataset.site) + ' ' + g.querySelector('.site-heading').innerText.replace(/\s+/g, ' ').trim()).join(' | ')`); got != `"north" Site north 1 tool | "south" Site south 1 tool | "" Other tools 1 tool` {
		t.Errorf("site groups: %s", got)
	}
	if got := b.eval(`[...document.querySelectorAll('#tools .site-heading .site-name')].map((h) => h.innerText).join(',')`); got != "north,south,Other tools" {
		t.Errorf("site headings name %q, want north, south and Other tools", got)
	}

	// Each tool 12 in its site's group, with its own state.
	if got := b.eval(`(() => {
		const tile = document.querySelector('#tools .site-group[data-site="north"] > .tiles > .tile[data-site="north"][data-tool-id="12"]');
		return tile ? tile.innerText.replace(/\s+/g, ' ') : 'no tile';
	})()`); !strings.Contains(got, "Zeiss SEM") || !strings.Contains(got, "In use") || !strings.Contains(got, "Ada Byron") {
		t.Errorf("north's tool 12: %q, want Zeiss SEM in use by Ada Byron", got)
	}
	if got := b.eval(`(() => {
		const tile = document.querySelector('#tools .site-group[data-site="south"] > .tiles > .tile[data-site="south"][data-tool-id="12"]');
		return tile ? tile.dataset.state + ': ' + tile.innerText.replace(/\s+/g, ' ') : 'no tile';
	})()`); !strings.HasPrefix(got, "down: ") || !strings.Contains(got, "Oxford ICP") || !strings.Contains(got, "Shut down") {
		t.Errorf("south's tool 12: %q, want Oxford ICP shut down", got)
	}
	if got := b.eval(`(() => {
		const tile = document.querySelector('#tools .site-group[data-site=""] > .tiles > .tile[data-site=""][data-tool-id="7"]');
		return tile ? tile.innerText.replace(/\s+/g, ' ') : 'no tile';
	})()`); !strings.Contains(got, "Raith EBL") || !strings.Contains(got, "Free") {
		t.Errorf("the default site's tool 7: %q, want Raith EBL free", got)
	}
	// Element ids stay unique with two tool 12s.
	if got := b.eval(`(() => {
		const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
		const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
		const names = [...document.querySelectorAll('#tools .tile-name')].map((h) => h.id).sort().join(',');
		return twice.length ? 'twice: ' + twice.join(',') : names;
	})()`); got != "tool-name-7,tool-name-north-12,tool-name-south-12" {
		t.Errorf("tile heading ids: %s", got)
	}
	step("each tool 12 in its site's group")

	// Search finds a site by its name.
	b.do(chromedp.SendKeys(chromedp.ID("tool-search"), "south"))
	b.waitFor("searching south leaves south's tile", 5*time.Second, `(() => {
		const tiles = [...document.querySelectorAll('#tools .tile')];
		return tiles.length === 1 && tiles[0].dataset.site === 'south';
	})()`)
	b.do(chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.getElementById('tool-search');
		s.value = '';
		s.dispatchEvent(new Event('input', {bubbles: true}));
	})()`))
	b.waitFor("every tile back", 5*time.Second, `document.querySelectorAll('#tools .tile').length === 3`)

	// The feed's tool filter tells the two tool 12s apart.
	if got := b.eval(`[...document.getElementById('feed-tool').options].map((o) => o.value + '=' + o.text).join(' | ')`); !strings.Contains(got, "north/12=Zeiss SEM (#12, site north)") ||
		!strings.Contains(got, "south/12=Oxford ICP (#12, site south)") || !strings.Contains(got, "7=Raith EBL (#7)") {
		t.Errorf("the feed's tool choices: %s", got)
	}
	step("search and the feed's filter know the sites")

	b.screenshot("sites.png")

	// A site's tool's screen is read at the site's address: nothing is
	// retained without the displays profile, which the page says in words
	// (an unknown path would be an error instead).
	b.do(chromedp.Click(chromedp.CSS(`#tools .tile[data-site="north"][data-tool-id="12"] .screen-button`)))
	b.waitFor("north's tool 12's screen view", 10*time.Second, `(() => {
		const d = document.getElementById('screen-dialog');
		return d.open && document.getElementById('screen-title').innerText.includes('Zeiss SEM') &&
			d.innerText.includes('Nothing is retained for this tool’s screen');
	})()`)
	if got := b.eval(`performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((p) => p.endsWith('/display')).join(',')`); got != "/v1/sites/north/tools/12/display" {
		t.Errorf("the screen view read %q, want /v1/sites/north/tools/12/display", got)
	}
	b.do(chromedp.KeyEvent("\x1b"))
	b.waitFor("Escape closes the screen view", 5*time.Second, `!document.getElementById('screen-dialog').open`)
	step("north's tool 12's screen read at north's address")
	b.check()
}

// siteNamed is a tool's site, an optional field.
func siteNamed(name string) *string { return &name }
