package gateway

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
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

// -ingest-addr takes the default site's ingests and each named site's,
// and a malformed value is refused at start, naming the flag.
func TestIngestAddrIsCheckedAtStart(t *testing.T) {
	check := func(value string) error {
		t.Helper()
		var o Options
		fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
		o.Bind(fs)
		if err := envflag.Parse(fs, []string{"-ingest-addr", value}); err != nil {
			t.Fatal(err)
		}
		return o.validate()
	}
	for _, good := range []string{
		"localhost:7001",
		"ingest-0.ingest:7001,ingest-1.ingest:7001",
		"ingest-0.ingest:7001,ingest-1.ingest:7001;north=ingest-site-north-0.ingest-site-north:7001,ingest-site-north-1.ingest-site-north:7001",
	} {
		if err := check(good); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
	for _, bad := range []string{"", "a:7001;", "a:7001,,b:7001", "a:7001,a:7001", "north=n:7001;north=m:7001", "North=n:7001"} {
		if err := check(bad); err == nil || !strings.HasPrefix(err.Error(), "-ingest-addr ") {
			t.Errorf("%q: %v, want a refusal naming -ingest-addr", bad, err)
		}
	}
}
