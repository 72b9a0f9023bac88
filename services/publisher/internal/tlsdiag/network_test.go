package tlsdiag

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestUnreachable(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		err = connectError(t, "tls://"+addr, &tls.Config{}, "", "")
		expect(t, Explain(t.Context(), err, Target{Addr: addr, TLS: &tls.Config{}}),
			"Nothing is listening at {addr} (connection refused). Check that the broker is running and that -mqtt-url (MQTT_URL) has the right host and port.",
			map[string]string{"addr": addr})
	})

	t.Run("unknown host", func(t *testing.T) {
		// The resolver's answer is made here, not asked of this machine's
		// DNS, which may not answer for .invalid names at all.
		const addr = "broker.no-such-lab.invalid:8883"
		err := fmt.Errorf("dial: %w", &net.OpError{Op: "dial", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: "broker.no-such-lab.invalid", IsNotFound: true}})
		expect(t, Explain(t.Context(), err, Target{Addr: addr, TLS: &tls.Config{}}),
			"The host name 'broker.no-such-lab.invalid' is not known (DNS). Check the host in -mqtt-url (MQTT_URL).", nil)
	})

	t.Run("no answer", func(t *testing.T) {
		// Takes the TCP connection and never says a word: a firewall that
		// swallows packets looks the same to the bridge.
		addr := serve(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		err := connectError(t, "tls://"+addr, &tls.Config{}, "", "")
		expect(t, Explain(t.Context(), err, Target{Addr: addr, TLS: &tls.Config{}}),
			"The broker at {addr} did not answer in time. Check that it is running and that no firewall blocks port {port}.",
			map[string]string{"addr": addr, "port": port(addr)})
	})

	// No route and a DNS server that does not answer cannot be made on a
	// test machine; these are the errors Go's dialer returns for them.
	t.Run("no route", func(t *testing.T) {
		err := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}
		expect(t, Explain(t.Context(), err, Target{Addr: "10.1.2.3:8883"}),
			"This machine has no route to the broker at 10.1.2.3:8883. Check the network and the host in -mqtt-url (MQTT_URL).", nil)
	})
	t.Run("DNS silent", func(t *testing.T) {
		err := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "i/o timeout", Name: "broker.lab", IsTimeout: true}}
		expect(t, Explain(t.Context(), err, Target{Addr: "broker.lab:8883"}),
			"The host name 'broker.lab' could not be looked up: the DNS server did not answer. Check this machine's network and DNS settings.", nil)
	})
}
