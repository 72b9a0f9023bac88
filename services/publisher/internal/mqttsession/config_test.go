package mqttsession

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// connectTo is the CONNECT packet autopaho sends to its i-th URL.
func connectTo(t *testing.T, cfg autopaho.ClientConfig, i int) *paho.Connect {
	t.Helper()
	cp, err := cfg.ConnectPacketBuilder(&paho.Connect{ClientID: "bridge"}, cfg.ServerUrls[i])
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// A password in the URL is the one sent in CONNECT, unless a flag gives
// one; each part of the login comes from its flag when given, else from
// the URL.
func TestTheLoginComesFromTheFlagsElseTheURL(t *testing.T) {
	for _, tt := range []struct {
		name, url, user, password string
		wantUser, wantPassword    string
	}{
		{"URL only", "mqtt://bridge:s3cret@broker:1883", "", "", "bridge", "s3cret"},
		{"escaped in the URL", "mqtts://bridge:p%40ss%2Fw@broker", "", "", "bridge", "p@ss/w"},
		{"flags only", "mqtt://broker", "bridge", "s3cret", "bridge", "s3cret"},
		{"user in the URL, password from its file", "mqtt://bridge@broker", "", "from-file", "bridge", "from-file"},
		{"flags win", "mqtt://other:old@broker", "bridge", "s3cret", "bridge", "s3cret"},
		{"no login", "mqtt://broker", "", "", "", ""},
	} {
		c := Config{URL: tt.url, Username: tt.user, Password: tt.password}
		l, err := c.checkedBrokers()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		cfg := c.clientConfig(l, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
		cp := connectTo(t, cfg, 0)
		if cp.Username != tt.wantUser || string(cp.Password) != tt.wantPassword || cp.UsernameFlag != (tt.wantUser != "") || cp.PasswordFlag != (tt.wantPassword != "") {
			t.Errorf("%s: CONNECT with %q / %q, want %q / %q", tt.name, cp.Username, cp.Password, tt.wantUser, tt.wantPassword)
		}
		// autopaho writes the URL it dials into its errors, which are logged.
		if dialed := cfg.ServerUrls[0].String(); strings.Contains(dialed, "@") {
			t.Errorf("%s: autopaho dials %s, login included", tt.name, dialed)
		}
		if user := c.target(l.all[0]).Username; user != tt.wantUser {
			t.Errorf("%s: failures are explained for user %q, want %q", tt.name, user, tt.wantUser)
		}
	}
}

// Health and logs show the broker with the password masked.
func TestTheBrokerIsShownWithoutItsPassword(t *testing.T) {
	c := Config{URL: "mqtts://bridge:s3cret@broker.lab:8883"}
	if got := c.Broker(); got != "mqtts://bridge:xxxxx@broker.lab:8883" {
		t.Fatalf("Broker() = %q", got)
	}
	bs, err := c.brokers()
	if err != nil || len(bs) != 1 || bs[0].url.String() != "tls://broker.lab:8883" {
		t.Fatalf("the URL dialed: %v, %v", bs, err)
	}
}

// A URL that does not parse, or names another scheme, is refused without
// quoting its password.
func TestABadBrokerURLIsRefusedWithoutThePassword(t *testing.T) {
	for _, raw := range []string{
		"mqtt://bridge:s3cret@broker:port",
		"mqtt://bridge:s3/cret@broker:1883",
		"http://bridge:s3cret@broker:1883",
		"bridge:s3cret@broker:1883",
	} {
		_, err := Config{URL: raw}.brokers()
		if err == nil || !strings.Contains(err.Error(), "-mqtt-url") || strings.Contains(err.Error(), "s3") || strings.Contains(err.Error(), "cret") {
			t.Errorf("%s: %v, want a refusal naming -mqtt-url without the password", raw, err)
		}
	}
}
