package tlsdiag

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/testpki"
)

// TestHangUpAfterTLS covers brokers that hang up once TLS is up: the probe
// either finds the TLS session accepted, so something else is wrong, or
// learns nothing, and the message says what most likely is.
func TestHangUpAfterTLS(t *testing.T) {
	ca := testpki.MustNew(t, testpki.CAOptions{CommonName: "Lab Root CA", Organization: "Cleanroom"})
	server := &tls.Config{Certificates: []tls.Certificate{ca.MustIssue(t, testpki.Loopback("broker", testpki.Server)).Pair}}
	client := &tls.Config{RootCAs: ca.Pool()}

	t.Run("TLS accepted, then closed", func(t *testing.T) {
		// Like a broker at its connection limit: it reads CONNECT and hangs
		// up, but waits quietly on a connection that sends nothing.
		addr := serveTLS(t, server, waitForClient)
		err := connectError(t, "tls://"+addr, client, "", "")
		expect(t, Explain(t.Context(), err, Target{Addr: addr, TLS: client}),
			"The broker at {addr} accepted the TLS connection, then closed it before answering the MQTT login. The broker's log says why.",
			map[string]string{"addr": addr})
	})

	t.Run("closed without saying why", func(t *testing.T) {
		addr := serveTLS(t, server, func(*tls.Conn) {})
		err := connectError(t, "tls://"+addr, client, "", "")
		expect(t, Explain(t.Context(), err, Target{Addr: addr, TLS: client}),
			"The broker at {addr} closed the connection during or right after the TLS handshake without saying why, most likely because it requires a client certificate. Set -mqtt-cert-file (MQTT_CERT_FILE) and -mqtt-key-file (MQTT_KEY_FILE) to a certificate and key signed by a CA the broker trusts.",
			map[string]string{"addr": addr})
	})

	t.Run("closed without saying why, with a client certificate", func(t *testing.T) {
		bridge := ca.MustIssue(t, testpki.Spec{Name: "bridge", Usage: testpki.Client})
		withCert := client.Clone()
		withCert.Certificates = []tls.Certificate{bridge.Pair}
		addr := serveTLS(t, server, func(*tls.Conn) {})
		err := connectError(t, "tls://"+addr, withCert, "", "")
		expect(t, Explain(t.Context(), err, Target{Addr: addr, TLS: withCert, CertFile: bridge.CertFile}),
			"The broker at {addr} closed the connection during or right after the TLS handshake without saying why, most likely because it refuses the bridge's client certificate {cert}. Check that the broker trusts 'Lab Root CA' (Cleanroom), which issued it (mosquitto: cafile).",
			map[string]string{"addr": addr, "cert": bridge.CertFile})
	})

	t.Run("closed at once, TLS and plain MQTT alike", func(t *testing.T) {
		// Like a load balancer or port forward whose broker is down.
		addr := serve(t, func(net.Conn) {})
		err := connectError(t, "tls://"+addr, client, "", "")
		expect(t, Explain(t.Context(), err, Target{Addr: addr, TLS: client}),
			"Something at {addr} takes the connection but closes it at once, before TLS, and does not answer plain MQTT either: most likely a load balancer, proxy or port forward whose broker is down or out of its reach. Check that the broker behind {addr} is running; the bridge keeps trying.",
			map[string]string{"addr": addr})
	})

	t.Run("not TLS at all", func(t *testing.T) {
		addr := serve(t, func(c net.Conn) { _, _ = c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n")) })
		err := connectError(t, "tls://"+addr, client, "", "")
		expect(t, Explain(t.Context(), err, Target{Addr: addr, TLS: client}),
			"The broker at {addr} does not answer in TLS, so {port} is most likely its plain MQTT port (MQTT over TLS usually uses 8883, plain MQTT 1883). Put the broker's TLS port in -mqtt-url (MQTT_URL), or use mqtt:// if the broker has no TLS.",
			map[string]string{"addr": addr, "port": port(addr)})
	})
}
