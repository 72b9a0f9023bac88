package router

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/rules"
)

func defaultOptions() Options {
	return Options{DisplayTimezone: "UTC", DisplayNameLength: rules.DefaultDisplayNameLength, DisplayTimeFormat: rules.DefaultDisplayTimeLayout, DisplayASCII: true}
}

func TestDisplayTimezone(t *testing.T) {
	o := defaultOptions()
	o.DisplayTimezone = "America/Los_Angeles"
	st, err := o.rulesSettings()
	if err != nil {
		t.Fatal(err)
	}
	// Daylight saving time, from the embedded time zone database.
	for when, want := range map[time.Time]int{
		time.Date(2026, 7, 4, 12, 0, 0, 0, time.UTC):  -7 * 3600,
		time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC): -8 * 3600,
	} {
		if _, off := when.In(st.DisplayLocation).Zone(); off != want {
			t.Errorf("%v: offset %d, want %d", when, off, want)
		}
	}
	for _, bad := range []string{"Mars/Olympus_Mons", "", "Local", "PST8PDT/x"} {
		o.DisplayTimezone = bad
		_, err := o.rulesSettings()
		if err == nil || !strings.Contains(err.Error(), "-display-timezone") || !strings.Contains(err.Error(), "IANA name") {
			t.Errorf("%q: got %v", bad, err)
		}
	}
	o = defaultOptions()
	o.DisplayNameLength = 0
	if _, err := o.rulesSettings(); err == nil || !strings.Contains(err.Error(), "-display-name-length") {
		t.Errorf("name length 0: %v", err)
	}
	for _, bad := range []string{"%b %d, %I:%M %p", "", "later"} {
		o = defaultOptions()
		o.DisplayTimeFormat = bad
		if _, err := o.rulesSettings(); err == nil || !strings.Contains(err.Error(), "-display-time-format") || !strings.Contains(err.Error(), "Go time layout") {
			t.Errorf("time format %q: %v", bad, err)
		}
	}
	o = defaultOptions()
	o.DisplayTimeFormat = "2 Jan 15:04"
	if st, err := o.rulesSettings(); err != nil || st.DisplayTimeLayout != "2 Jan 15:04" {
		t.Errorf("time format 2 Jan 15:04: %+v, %v", st, err)
	}
}

// -display-ascii, on unless DISPLAY_ASCII=false says otherwise as for
// every flag, decides whether the displays profile writes its texts in
// ASCII; the main rules' topics keep NEMO's text either way.
func TestDisplayASCIISetting(t *testing.T) {
	ev := decoded(&bridgev1.Event{Id: "1-0", Topic: "nemo/tools/7/start", Payload: []byte(`{"event":"tool_usage_start","tool_id":7,"tool_name":"Gravure – Étuve","user_name":"Zoë Ångström (Admin)","start_time":"2026-07-04T17:30:00Z"}`)})
	for _, tc := range []struct {
		name string
		env  string // DISPLAY_ASCII; empty: not set
		args []string
		want string
	}{
		{"default", "", nil, `{"event_type":"active","in_use":true,"timestamp":"Jul 04, 05:30 PM","time_label":"Enabled Since","user_label":"User","user_name":"Zoe Angstrom","tool_name":"Gravure - Etuve"}`},
		{"environment", "false", nil, `{"event_type":"active","in_use":true,"timestamp":"Jul 04, 05:30 PM","time_label":"Enabled Since","user_label":"User","user_name":"Zoë Ångström","tool_name":"Gravure – Étuve"}`},
		{"flag beats environment", "false", []string{"-display-ascii"}, `{"event_type":"active","in_use":true,"timestamp":"Jul 04, 05:30 PM","time_label":"Enabled Since","user_label":"User","user_name":"Zoe Angstrom","tool_name":"Gravure - Etuve"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("DISPLAY_ASCII", tc.env)
			}
			var o Options
			fs := flag.NewFlagSet("router", flag.ContinueOnError)
			o.Bind(fs)
			if err := envflag.Parse(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			st, err := o.rulesSettings()
			if err != nil {
				t.Fatal(err)
			}
			book, err := openRulebook("", rulesConfig{displays: true, settings: st}, testLog(t), prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			msgs, _, err := book.current().Apply(ev, nil)
			if err != nil || len(msgs) != 2 {
				t.Fatalf("%v %v", msgs, err)
			}
			if got := string(msgs[0].GetPayload()); got != string(ev.GetPayload()) {
				t.Errorf("%s changed: %s", msgs[0].GetTopic(), got)
			}
			if got := string(msgs[1].GetPayload()); msgs[1].GetTopic() != "nemo/esp32/7/status" || got != tc.want {
				t.Errorf("%s %s\nwant %s", msgs[1].GetTopic(), got, tc.want)
			}
		})
	}
}

func TestSigningKeySources(t *testing.T) {
	const secret = "correct horse battery staple"
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := defaultOptions()
	o.SigningKeyFile = path
	st, err := o.rulesSettings()
	if err != nil || string(st.SigningKey) != secret {
		t.Fatalf("key file: %q, %v", st.SigningKey, err)
	}
	t.Setenv("SIGNING_KEY", "from-env")
	o.SigningKeyFile = ""
	if st, err = o.rulesSettings(); err != nil || string(st.SigningKey) != "from-env" {
		t.Fatalf("SIGNING_KEY: %q, %v", st.SigningKey, err)
	}
	// Errors name the file, never the key.
	o.SigningKeyFile = filepath.Join(t.TempDir(), "missing")
	if _, err := o.rulesSettings(); err == nil || !strings.Contains(err.Error(), "-signing-key-file") || strings.Contains(err.Error(), "from-env") {
		t.Errorf("missing key file: %v", err)
	}
	t.Setenv("SIGNING_KEY", "")
	o = defaultOptions()
	o.SignAll = true
	if _, err := o.rulesSettings(); err == nil || !strings.Contains(err.Error(), "-sign-all: there is no signing key") {
		t.Errorf("sign-all without a key: %v", err)
	}
}

func TestSignTrueWithoutKeyStopsTheStart(t *testing.T) {
	path := rulesFile(t, "version: 1\nrules:\n  - name: r\n    publish:\n      - topic: t\n        sign: true\n")
	_, err := openRulebook(path, rulesConfig{}, testLog(t), prometheus.NewRegistry())
	if err == nil || err.Error() != path+":6:15: rules[0].publish[0].sign: sign: true, but the router has no signing key (give -signing-key-file or SIGNING_KEY)" {
		t.Fatalf("got %v", err)
	}
}

// The signature is the one openssl computes over the payload string, and
// a forged payload does not verify.
func TestSignatureMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is not installed (apt-get install openssl): %v", err)
	}
	const key = "s3cr3t-k€y"
	book, err := openRulebook("", rulesConfig{settings: rules.Settings{SigningKey: []byte(key), SignAll: true}}, testLog(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ev := decoded(&bridgev1.Event{Id: "1-0", Topic: "nemo/tools/12/enabled", Payload: []byte(`{"event":"tool_enabled","tool_id":12,"user_name":"Zoë <Admin> & co"}`), Qos: 1})
	msgs, _, err := book.current().Apply(ev, nil)
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Payload, HMAC, Algo string }
	if err := json.Unmarshal(msgs[0].GetPayload(), &env); err != nil {
		t.Fatal(err)
	}
	if env.Payload != string(ev.GetPayload()) || env.Algo != "sha256" {
		t.Fatalf("envelope %s", msgs[0].GetPayload())
	}
	openssl := func(payload string) string {
		cmd := exec.Command("openssl", "dgst", "-sha256", "-hmac", key)
		cmd.Stdin = strings.NewReader(payload)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		// "SHA2-256(stdin)= 9f…" or "(stdin)= 9f…"
		_, hex, _ := strings.Cut(strings.TrimSpace(string(out)), "= ")
		return hex
	}
	if got := openssl(env.Payload); got != env.HMAC {
		t.Errorf("openssl says %s, the envelope %s", got, env.HMAC)
	}
	if _, err := rules.Verify([]byte(key), msgs[0].GetPayload()); err != nil {
		t.Errorf("does not verify: %v", err)
	}
	forged := strings.Replace(env.Payload, "Zoë", "Eve", 1)
	if openssl(forged) == env.HMAC {
		t.Error("the forged payload has the same signature")
	}
	env.Payload = forged
	doc, _ := json.Marshal(map[string]string{"payload": env.Payload, "hmac": env.HMAC, "algo": env.Algo})
	if _, err := rules.Verify([]byte(key), doc); err == nil {
		t.Error("a forged payload verified")
	}
}

// DryRun shows the displays' messages beside the main rules'.
func TestDryRunWithDisplays(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	book, err := openRulebook("", rulesConfig{displays: true, settings: rules.Settings{DisplayLocation: la}}, testLog(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	client := serve(t, &server{rules: book})
	resp, err := client.DryRun(context.Background(), &routerv1.DryRunRequest{Event: &bridgev1.Event{
		Topic: "nemo/tools/12/enabled", Payload: []byte(`{"event":"tool_usage_start","tool_id":12,"tool_name":"Furnace","user_name":"Emilio Rossi (Admin)","start_time":"2026-07-04T17:30:00Z"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range resp.GetMessages() {
		got = append(got, m.GetTopic()+" "+string(m.GetPayload()))
	}
	want := []string{
		`nemo/tools/12/enabled {"event":"tool_usage_start","tool_id":12,"tool_name":"Furnace","user_name":"Emilio Rossi (Admin)","start_time":"2026-07-04T17:30:00Z"}`,
		`nemo/esp32/12/status {"event_type":"active","in_use":true,"timestamp":"Jul 04, 10:30 AM","time_label":"Enabled Since","user_label":"User","user_name":"Emilio Rossi","tool_name":"Furnace"}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"plugin-topics", "displays-status-start"}, resp.GetMatchedRules()); diff != "" {
		t.Errorf("matched (-want +got):\n%s", diff)
	}
}

// With -sign-all, the NEMO topics and the tool's status snapshot are
// signed; the screens' topics never are, as screens cannot unwrap them.
func TestSignAllSignsNEMOTopicsNotScreens(t *testing.T) {
	key := []byte("k")
	book, err := openRulebook("", rulesConfig{displays: true, settings: rules.Settings{SigningKey: key, SignAll: true}}, testLog(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ev := decoded(&bridgev1.Event{Id: "1-0", Topic: "nemo/tools/12/enabled", Payload: []byte(`{"event":"tool_enabled","tool_id":12,"user_name":"Ada"}`)})
	msgs, _, err := book.current().Apply(ev, nil)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("%v %v", msgs, err)
	}
	if inner, err := rules.Verify(key, msgs[0].GetPayload()); err != nil || string(inner) != string(ev.GetPayload()) {
		t.Errorf("%s: %s, %v", msgs[0].GetTopic(), msgs[0].GetPayload(), err)
	}
	if _, err := rules.Verify(key, msgs[1].GetPayload()); err == nil || msgs[1].GetTopic() != "nemo/esp32/12/status" {
		t.Errorf("%s is signed: %s", msgs[1].GetTopic(), msgs[1].GetPayload())
	}
	snap, err := book.current().SnapshotDoc(&statusv1.Tool{Id: 12, User: "Ada"}, nil, ev)
	if err != nil {
		t.Fatal(err)
	}
	if inner, err := rules.Verify(key, snap.GetPayload()); err != nil || !strings.Contains(string(inner), `"user":"Ada"`) {
		t.Errorf("snapshot %s: %v", snap.GetPayload(), err)
	}
}
