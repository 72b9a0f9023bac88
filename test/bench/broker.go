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

// startBroker runs mosquitto on a plain loopback listener for the bench.
// It writes its own configuration because the harness cannot ask for an
// unlimited window: inFlight 0 writes `max_inflight_messages 0`
// (unlimited), a negative value leaves the line out (mosquitto's default,
// 20), a positive one sets it. Like the harness, it lifts the per-client
// queue limit so a slow subscriber never loses messages.
func startBroker(env *harness.Env, inFlight int) (addr string, err error) {
	port, err := harness.FreePort()
	if err != nil {
		return "", err
	}
	conf := fmt.Sprintf("allow_anonymous true\nmax_queued_messages 0\nlog_dest file %s\nlog_type error\nlog_type warning\nlistener %d 127.0.0.1\n",
		filepath.Join(env.Dir, "mosquitto.log"), port)
	if inFlight >= 0 {
		conf += fmt.Sprintf("max_inflight_messages %d\n", inFlight)
	}
	if os.Geteuid() == 0 {
		// As root, mosquitto drops to its own user, which cannot write the
		// log in this private directory.
		conf += "user root\n"
	}
	path := filepath.Join(env.Dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return "", err
	}
	if _, err := env.StartProcess("mosquitto", "mosquitto", "-c", path); err != nil {
		return "", err
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return addr, harness.WaitTCP(addr, 10*time.Second)
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
