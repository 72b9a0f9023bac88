package tlsdiag

import (
	"crypto/tls"
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/testpki"
)

// TestMosquitto explains what a real mosquitto 2 with
// require_certificate true and a password file does to the bridge.
func TestMosquitto(t *testing.T) {
	ca := testpki.MustNew(t, testpki.CAOptions{CommonName: "Lab Root CA", Organization: "Cleanroom"})
	stranger := testpki.MustNew(t, testpki.CAOptions{CommonName: "Other CA", Organization: "Elsewhere"})
	b := startMosquitto(t, ca, ca.MustIssue(t, testpki.Loopback("broker", testpki.Server)))

	bridge := ca.MustIssue(t, testpki.Spec{Name: "bridge", Usage: testpki.Client})
	expiredSpec := testpki.Spec{Name: "expired-bridge", Usage: testpki.Client, NotBefore: lastYear, NotAfter: expiry}
	earlySpec := testpki.Spec{Name: "early-bridge", Usage: testpki.Client, NotBefore: someday, NotAfter: someday.AddDate(1, 0, 0)}
	expired, early := ca.MustIssue(t, expiredSpec), ca.MustIssue(t, earlySpec)
	foreign := stranger.MustIssue(t, testpki.Spec{Name: "foreign-bridge", Usage: testpki.Client})

	// session is how the bridge would be set up: the broker's CA and,
	// unless nil, a client certificate.
	session := func(cert *testpki.Cert, maxVersion uint16) (*tls.Config, Target) {
		cfg := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12, MaxVersion: maxVersion}
		target := Target{Addr: b.addr, TLS: cfg, CAFile: ca.File, Username: brokerUser, ClientID: "tlsdiag-test"}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{cert.Pair}
			target.CertFile, target.KeyFile = cert.CertFile, cert.KeyFile
		}
		return cfg, target
	}

	t.Run("right settings connect", func(t *testing.T) {
		cfg, _ := session(bridge, 0)
		if err := connectError(t, "tls://"+b.addr, cfg, brokerUser, brokerPassword); err != nil {
			t.Fatalf("the test broker refuses good settings: %v", err)
		}
	})

	for _, c := range []struct {
		name       string
		cert       *testpki.Cert
		maxVersion uint16
		user, pass string
		want       string
	}{{
		// Under TLS 1.3 the session meets only a reset connection; the
		// probe hears the broker's certificate_required alert.
		name: "no client certificate",
		want: "The broker at {addr} requires a client certificate, and the bridge has none. Set -mqtt-cert-file (MQTT_CERT_FILE) and -mqtt-key-file (MQTT_KEY_FILE) to a certificate and key signed by a CA the broker trusts.",
	}, {
		// Under TLS 1.2 OpenSSL says handshake_failure during the handshake.
		name:       "no client certificate, TLS 1.2",
		maxVersion: tls.VersionTLS12,
		want:       "The broker at {addr} refused the TLS handshake, most likely because it requires a client certificate and the bridge has none. Set -mqtt-cert-file (MQTT_CERT_FILE) and -mqtt-key-file (MQTT_KEY_FILE) to a certificate and key signed by a CA the broker trusts.",
	}, {
		name: "expired client certificate",
		cert: expired,
		want: "The bridge's client certificate {cert} expired on 2026-11-20, so the broker refuses it. Issue a new one and point -mqtt-cert-file (MQTT_CERT_FILE) and -mqtt-key-file (MQTT_KEY_FILE) at it.",
	}, {
		name:       "expired client certificate, TLS 1.2",
		cert:       expired,
		maxVersion: tls.VersionTLS12,
		want:       "The bridge's client certificate {cert} expired on 2026-11-20, so the broker refuses it. Issue a new one and point -mqtt-cert-file (MQTT_CERT_FILE) and -mqtt-key-file (MQTT_KEY_FILE) at it.",
	}, {
		name: "client certificate not yet valid",
		cert: early,
		want: "The bridge's client certificate {cert} is valid only from 2099-01-01 00:00 UTC on, and this machine's clock says {now}. Check the clock of this machine and of the one that made the certificate.",
	}, {
		name: "client certificate from a CA the broker does not trust",
		cert: foreign,
		want: "The broker does not trust 'Other CA' (Elsewhere), which issued the bridge's client certificate {cert}. Add that CA to the broker's trusted CAs (mosquitto: cafile), or use a client certificate signed by a CA the broker trusts.",
	}, {
		// mosquitto 2.0 answers a wrong password with 0x87, not 0x86.
		name: "wrong password",
		cert: bridge, user: brokerUser, pass: "wrong-password",
		want: "The broker does not let user 'nemo' in: the password is wrong, the user is unknown, or the user may not connect. Check -mqtt-username (MQTT_USERNAME) and -mqtt-password (MQTT_PASSWORD) against the broker's password file.",
	}} {
		t.Run(c.name, func(t *testing.T) {
			cfg, target := session(c.cert, c.maxVersion)
			user, pass := c.user, c.pass
			if user == "" {
				user, pass = brokerUser, brokerPassword
			}
			err := connectError(t, "tls://"+b.addr, cfg, user, pass)
			if err == nil {
				t.Fatal("connected; want a refusal")
			}
			t.Logf("autopaho's error: %v", err)
			expect(t, Explain(t.Context(), err, target), c.want, map[string]string{"addr": b.addr, "cert": target.CertFile})
		})
	}

	t.Run("no user name", func(t *testing.T) {
		cfg, target := session(bridge, 0)
		target.Username = ""
		err := connectError(t, "tls://"+b.addr, cfg, "", "")
		expect(t, Explain(t.Context(), err, target),
			"The broker does not let the bridge in without a user name. Set -mqtt-username (MQTT_USERNAME) and -mqtt-password (MQTT_PASSWORD).", nil)
	})

	t.Run("TLS to the plain port", func(t *testing.T) {
		cfg, target := session(bridge, 0)
		target.Addr = b.plainAddr
		err := connectError(t, "tls://"+b.plainAddr, cfg, brokerUser, brokerPassword)
		expect(t, Explain(t.Context(), err, target),
			"The broker at {addr} answers plain MQTT, not TLS: {port} is its plain MQTT port (MQTT over TLS usually uses 8883, plain MQTT 1883). Put the broker's TLS port in -mqtt-url (MQTT_URL), or use mqtt:// if the broker has no TLS.",
			map[string]string{"addr": b.plainAddr, "port": port(b.plainAddr)})
	})

	t.Run("plain MQTT to the TLS port", func(t *testing.T) {
		err := connectError(t, "mqtt://"+b.addr, nil, brokerUser, brokerPassword)
		expect(t, Explain(t.Context(), err, Target{Addr: b.addr}),
			"The broker at {addr} closed the connection before answering. If {port} is a TLS port (MQTT over TLS usually uses 8883), use mqtts:// in -mqtt-url (MQTT_URL).",
			map[string]string{"addr": b.addr, "port": port(b.addr)})
	})
}
