package publisher

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
)

func parse(t *testing.T, args ...string) (Options, error) {
	t.Helper()
	var o Options
	fs := flag.NewFlagSet("publisher", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.Bind(fs)
	return o, envflag.Parse(fs, args)
}

func secretFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every option that may hold a password has a file form, so that the
// password never shows in ps.
func TestPasswordsComeFromFiles(t *testing.T) {
	o, err := parse(t,
		"-mqtt-password-file", secretFile(t, "mqtt-pw\n"),
		"-mqtt-url-file", secretFile(t, "mqtts://bridge@broker:8883\n"),
		"-redis-url-file", secretFile(t, "redis://:redis-pw@nemo:6379/1\n"),
		"-lease-redis-url-file", secretFile(t, "redis://:lease-pw@lease:6379/0\n"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if o.MQTT.Password != "mqtt-pw" || o.MQTT.URL != "mqtts://bridge@broker:8883" || o.RedisURL != "redis://:redis-pw@nemo:6379/1" || o.LeaseRedisURL != "redis://:lease-pw@lease:6379/0" {
		t.Fatalf("read %+v", o)
	}
	o, err = parse(t)
	if err != nil || o.MQTT.URL != "mqtt://localhost:1883" || o.MQTT.Password != "" {
		t.Fatalf("the defaults: %q %q, %v", o.MQTT.URL, o.MQTT.Password, err)
	}
}

func TestAPasswordGivenTwiceIsRefusedWithoutQuotingIt(t *testing.T) {
	t.Setenv("MQTT_PASSWORD", "env-pw")
	_, err := parse(t, "-mqtt-password-file", secretFile(t, "file-pw\n"))
	if err == nil || !strings.Contains(err.Error(), "-mqtt-password") || strings.Contains(err.Error(), "-pw") {
		t.Fatalf("MQTT_PASSWORD and -mqtt-password-file: %v, want both refused without the password", err)
	}
}
