package tlsdiag

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/testpki"
)

const mosquittoBin = "/usr/sbin/mosquitto"

// The one account in the test broker's password file.
const (
	brokerUser     = "nemo"
	brokerPassword = "right-password"
)

// broker is a mosquitto of the test's own, on free loopback ports: never
// the machine's broker on 1883.
type broker struct {
	addr      string // TLS, requiring a client certificate
	plainAddr string // plain MQTT, for the wrong-port cases
}

// startMosquitto runs mosquitto with a TLS listener that presents server
// and requires a client certificate signed by ca, and a plain listener;
// both require the user name and password. It is killed when the test
// ends, and its log shown if the test failed.
func startMosquitto(t *testing.T, ca *testpki.CA, server *testpki.Cert) broker {
	t.Helper()
	if _, err := os.Stat(mosquittoBin); err != nil {
		t.Fatalf("mosquitto is not installed (apt-get install mosquitto mosquitto-clients): %v", err)
	}
	dir := t.TempDir()
	passwords := filepath.Join(dir, "passwords")
	if out, err := exec.Command("mosquitto_passwd", "-b", "-c", passwords, brokerUser, brokerPassword).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	tlsPort, plainPort := freePort(t), freePort(t)
	// The TLS settings apply to the listener above them.
	conf := fmt.Sprintf(`per_listener_settings false
allow_anonymous false
password_file %s
persistence false
log_dest stderr
log_type all

listener %d 127.0.0.1

listener %d 127.0.0.1
cafile %s
certfile %s
keyfile %s
require_certificate true
`, passwords, plainPort, tlsPort, ca.File, server.CertFile, server.KeyFile)
	// As root, mosquitto switches to the mosquitto user, which cannot read
	// the keys in the test's private directory.
	if os.Geteuid() == 0 {
		conf += "user root\n"
	}
	confFile := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "mosquitto.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	showLog := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }

	cmd := exec.Command(mosquittoBin, "-c", confFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", showLog())
		}
	})
	b := broker{
		addr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort)),
		plainAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(plainPort)),
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", b.addr)
		if err == nil {
			c.Close()
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %s: %v\n%s", b.addr, err, showLog())
		}
	}
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before mosquitto binds it; startMosquitto then fails loudly.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
