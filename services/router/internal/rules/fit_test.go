package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// Letters names are drawn from: ASCII (with what JSON escapes), accented
// Latin, CJK and emoji (one with a variation selector).
var namePools = [][]rune{
	[]rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789    -.'&<>/\"\\\t\x01"),
	[]rune("éèêëàâäçîïôöùûüÿñßæøåÉÈÀÇÔÖÜŁłŒœŠšŽžĞğİıŞşȘțŐű"),
	[]rune("東京大学電子顕微鏡室李小龍歐陽娜娜司馬相如諸葛亮孔明한국어"),
	[]rune("🔬🧪🔥💧🧲🦠⚗\ufe0f"),
}

// randomName is up to max characters, each from one of the pools the
// name draws from.
func randomName(rng *rand.Rand, max int) string {
	var pools [][]rune
	for len(pools) == 0 {
		for _, p := range namePools {
			if rng.IntN(2) == 0 {
				pools = append(pools, p)
			}
		}
	}
	r := make([]rune, rng.IntN(max+1))
	for i := range r {
		p := pools[rng.IntN(len(pools))]
		r[i] = p[rng.IntN(len(p))]
	}
	return string(r)
}

// Whatever the names, every screen message, topic included, takes at most
// max_bytes (239) bytes, and a name cut to fit is cut no further than
// needed: with one more of its characters back, the message would be too
// long. In UTF-8 and in ASCII.
func TestScreenNamesAreCutToTheLongestThatFits(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2026))
	for i := range 400 {
		toolName, userName := randomName(rng, 120), randomName(rng, 30)
		if rng.IntN(3) == 0 {
			userName += " (" + randomName(rng, 8) + ")"
		}
		toolID := rng.IntN(1_000_000_000)
		payload, _ := json.Marshal(map[string]any{"event": "tool_usage_start", "tool_id": toolID, "tool_name": toolName, "user_name": userName, "start_time": 1768507500})
		for _, utf8 := range []bool{true, false} {
			set, err := Displays().WithSettings(Settings{DisplayUTF8: utf8})
			if err != nil {
				t.Fatal(err)
			}
			msgs, _, err := set.Apply(event("nemo/tools/x/start", string(payload)), nil)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("%d: %v %v", i, msgs, err)
			}
			m := screenMsg{topic: msgs[0].GetTopic(), payload: msgs[0].GetPayload(), max: 239, marker: "…"}
			if m.size() > m.max {
				t.Errorf("%d: %s takes %d bytes: %s", i, m.topic, m.size(), m.payload)
			}
			wantTool, wantUser := toolName, DisplayName(userName, DefaultDisplayNameLength)
			if !utf8 {
				m.marker = "..."
				if wantTool = ASCII(toolName); strings.TrimSpace(wantTool) == "" && strings.TrimSpace(toolName) != "" {
					wantTool = fmt.Sprintf("Tool %d", toolID)
				}
				wantUser = DisplayName(ASCII(userName), DefaultDisplayNameLength)
				if i := bytes.IndexFunc(m.payload, func(r rune) bool { return r > unicode.MaxASCII }); i >= 0 {
					t.Errorf("%d: not ASCII at byte %d: %s", i, i, m.payload)
				}
			}
			m.checkCut(t, "tool_name", wantTool)
			m.checkCut(t, "user_name", wantUser)
		}
	}
}

// The names of the issue: a tool named in 56 CJK characters was cut to
// nothing, and a long French name lost far more than needed, as excess
// bytes were taken off as characters. In UTF-8, as they are.
func TestLongNamesKeepWhatFits(t *testing.T) {
	for _, name := range []string{
		strings.Repeat("東京大学電子顕微鏡室", 6)[:56*3],
		"Spectromètre de masse à temps de vol équipé d'une source électrospray, salle blanche numéro deux",
	} {
		payload, _ := json.Marshal(map[string]any{"event": "tool_enabled", "tool_id": 12, "tool_name": name, "user_name": "Zoë", "start_time": 1768507500})
		msgs, _, err := mustWith(t, Displays(), Settings{DisplayUTF8: true}).Apply(event("nemo/tools/12/enabled", string(payload)), nil)
		if err != nil {
			t.Fatal(err)
		}
		m := screenMsg{topic: msgs[0].GetTopic(), payload: msgs[0].GetPayload(), max: 239, marker: "…"}
		if m.size() > m.max || !bytes.Contains(m.payload, []byte(`"tool_name":"`+string([]rune(name)[:10]))) {
			t.Errorf("%d bytes: %s", m.size(), m.payload)
		}
		m.checkCut(t, "tool_name", name)
	}
}

// screenMsg is a built message whose texts are checked.
type screenMsg struct {
	topic   string
	payload []byte
	max     int
	marker  string
}

func (m screenMsg) size() int { return len(m.topic) + len(m.payload) }

// checkCut checks that field holds whole, or whole cut to the longest
// form that fits: the first characters, without white space at the end,
// and the marker, or nothing.
func (m screenMsg) checkCut(t *testing.T, field, whole string) {
	t.Helper()
	var doc map[string]json.RawMessage
	var got string
	if err := json.Unmarshal(m.payload, &doc); err != nil || json.Unmarshal(doc[field], &got) != nil {
		t.Fatalf("%s: %s: %v", field, m.payload, err)
	}
	if got == whole {
		return
	}
	r := []rune(whole)
	form := func(k int) string {
		if k == len(r) {
			return whole
		}
		kept := strings.TrimRightFunc(string(r[:k]), unicode.IsSpace)
		if kept == "" {
			return ""
		}
		return kept + m.marker
	}
	kept := -1
	for k := range r {
		if form(k) == got {
			kept = k
		}
	}
	if kept < 0 {
		t.Errorf("%s %q is not %q cut short", field, got, whole)
		return
	}
	encoded := func(s string) []byte { return []byte(fmt.Sprintf("%q:%s", field, jsonString(s))) }
	longer := bytes.Replace(m.payload, encoded(got), encoded(form(kept+1)), 1)
	if len(m.topic)+len(longer) <= m.max {
		t.Errorf("%s %q cut further than needed: %q fits too, in %d bytes with %s:\n%s", field, whole, form(kept+1), len(m.topic)+len(longer), m.topic, longer)
	}
}

// A list of tasks marked fit gives way in turn: the descriptions (marked
// fit), the oldest task's first; then the oldest tasks; then the newest
// task's summary. What is left takes back the room, the newest first, and
// "shown" says how many tasks are listed.
func TestFittedTaskListGivesWayInTurn(t *testing.T) {
	state := &statusv1.Tool{Id: 12, OpenTasks: []*statusv1.Task{
		{Id: 1, ProblemDescription: "Leak\nsee log"},
		{Id: 2, ProblemDescription: "Pump\nloud"},
		{Id: 3, ProblemDescription: "Smoke\nfrom rack"},
	}}
	for _, tc := range []struct {
		maxBytes int
		want     string // with topic t, one byte
	}{
		{200, `{"open":3,"shown":3,"tasks":[{"id":1,"s":"Leak","d":"Leak\nsee log"},{"id":2,"s":"Pump","d":"Pump\nloud"},{"id":3,"s":"Smoke","d":"Smoke\nfrom rack"}]}`},
		{150, `{"open":3,"shown":3,"tasks":[{"id":1,"s":"Leak","d":"Leak\nse…"},{"id":2,"s":"Pump","d":"Pump\nloud"},{"id":3,"s":"Smoke","d":"Smoke\nfrom rack"}]}`},
		{130, `{"open":3,"shown":3,"tasks":[{"id":1,"s":"Leak","d":""},{"id":2,"s":"Pump","d":""},{"id":3,"s":"Smoke","d":"Smoke\nfrom rack"}]}`},
		{110, `{"open":3,"shown":2,"tasks":[{"id":2,"s":"Pump","d":"Pump…"},{"id":3,"s":"Smoke","d":"Smoke\nfrom rack"}]}`},
		{70, `{"open":3,"shown":1,"tasks":[{"id":3,"s":"Smoke","d":"Smoke\nf…"}]}`},
		{55, `{"open":3,"shown":1,"tasks":[{"id":3,"s":"","d":""}]}`},
	} {
		s := mustParse(t, fmt.Sprintf("rules:\n  - name: r\n    publish:\n      - topic: t\n        max_bytes: %d\n        payload:\n          open: {task_count: open}\n          shown: {task_count: shown}\n          tasks:\n            fit: true\n            tasks:\n              id: {task: id}\n              s: {task: problem_description, first_line: true}\n              d: {task: problem_description, fit: true}\n", tc.maxBytes))
		msgs, _, err := s.Apply(event("t", `{}`), state)
		if err != nil {
			t.Fatalf("max_bytes %d: %v", tc.maxBytes, err)
		}
		if got := string(msgs[0].GetPayload()); got != tc.want || 1+len(got) > tc.maxBytes {
			t.Errorf("max_bytes %d:\n got %s\nwant %s", tc.maxBytes, got, tc.want)
		}
	}
}
