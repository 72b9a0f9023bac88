package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// broker is the bench's mosquitto: one listener, plain or TLS.
type broker struct {
	proc *harness.Process
	addr string
	pki  *harness.PKI // with TLS
}

// startBroker runs mosquitto on one loopback listener for the bench.
// It writes its own configuration because the harness cannot ask for an
// unlimited window: inFlight 0 writes `max_inflight_messages 0`
// (unlimited), a negative value leaves the line out (mosquitto's default,
// 20), a positive one sets it. Like the harness, it lifts the per-client
// queue limit so a slow subscriber never loses messages. With useTLS the
// listener takes TLS with a server certificate for 127.0.0.1 from a PKI
// made for this run (the harness's, as the end-to-end tests use). noDelay
// turns Nagle's algorithm off on the broker's sockets (set_tcp_nodelay).
func startBroker(env *harness.Env, inFlight int, noDelay, useTLS bool) (*broker, error) {
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	b := &broker{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	conf := fmt.Sprintf("allow_anonymous true\nmax_queued_messages 0\nlog_dest file %s\nlog_type error\nlog_type warning\nlistener %d 127.0.0.1\n",
		filepath.Join(env.Dir, "mosquitto.log"), port)
	if useTLS {
		if b.pki, err = env.NewPKI(); err != nil {
			return nil, err
		}
		conf += fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\n", b.pki.CAFile, b.pki.CertFile, b.pki.KeyFile)
	}
	if inFlight >= 0 {
		conf += fmt.Sprintf("max_inflight_messages %d\n", inFlight)
	}
	if noDelay {
		conf += "set_tcp_nodelay true\n"
	}
	if os.Geteuid() == 0 {
		// As root, mosquitto drops to its own user, which cannot write the
		// log (or read the keys) in this private directory.
		conf += "user root\n"
	}
	path := filepath.Join(env.Dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if b.proc, err = env.StartProcess("mosquitto", "mosquitto", "-c", path); err != nil {
		return nil, err
	}
	return b, harness.WaitTCP(b.addr, 10*time.Second)
}

// restart starts the broker again on the same port after proc.Stop.
func (b *broker) restart() error {
	if err := b.proc.Start(); err != nil {
		return err
	}
	return harness.WaitTCP(b.addr, 10*time.Second)
}

func inflightText(n int) string {
	switch {
	case n == 0:
		return "0 (unlimited)"
	case n < 0:
		return "not set (mosquitto's default, 20)"
	}
	return strconv.Itoa(n)
}
