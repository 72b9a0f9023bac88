package gateway

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
)

// The gateway looks at the list ingest reads: LIST_KEY names it for both.
func TestListKeyNamesTheList(t *testing.T) {
	t.Setenv("LIST_KEY", "NEMO_mqtt_events")
	var o Options
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	o.Bind(fs)
	if err := envflag.Parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if o.Input.List != "NEMO_mqtt_events" {
		t.Fatalf("LIST_KEY=NEMO_mqtt_events: the gateway looks at the list %q", o.Input.List)
	}
}

// The admin token and the Redis URL (which may hold a password) can come
// from files, so that they never show in ps; the defaults stay.
func TestSecretsComeFromFiles(t *testing.T) {
	parse := func(args ...string) Options {
		t.Helper()
		var o Options
		fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
		o.Bind(fs)
		if err := envflag.Parse(fs, args); err != nil {
			t.Fatal(err)
		}
		return o
	}
	if o := parse(); o.RedisURL != "redis://localhost:6379/1" || o.AdminToken != "" {
		t.Fatalf("defaults: %q, token %q", o.RedisURL, o.AdminToken)
	}
	dir := t.TempDir()
	token, url := filepath.Join(dir, "token"), filepath.Join(dir, "url")
	if err := os.WriteFile(token, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(url, []byte("redis://:pw@nemo:6379/1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ADMIN_TOKEN_FILE", token)
	if o := parse("-redis-url-file", url); o.AdminToken != "s3cret" || o.RedisURL != "redis://:pw@nemo:6379/1" {
		t.Fatalf("from files: %q, token %q", o.RedisURL, o.AdminToken)
	}
}
