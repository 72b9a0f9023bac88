package tlsdiag

import (
	"crypto/tls"
	"net"
	"testing"
)

// brokerCertificateCase is one server certificate problem: what the
// test broker presents, what the bridge trusts and expects, and the
// message wanted.
type brokerCertificateCase struct {
	name   string
	server leaf
	client *tls.Config
	target Target
	want   string
}

// runBrokerCertificateCases connects to a Go TLS server presenting each
// certificate, as the session does, and explains the real error.
func runBrokerCertificateCases(t *testing.T, cases []brokerCertificateCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{c.server.pair}}, waitForClient)
			err := connectError(t, "tls://"+addr, c.client, "", "")
			if err == nil {
				t.Fatal("connected; want a refused certificate")
			}
			c.target.Addr, c.target.TLS = addr, c.client
			expect(t, Explain(t.Context(), err, c.target), c.want, map[string]string{"addr": addr})
		})
	}
}

func TestUnknownAuthority(t *testing.T) {
	ca := newAuthority(t, "Lab Root CA", "Cleanroom")
	other := newAuthority(t, "Other CA", "Elsewhere")
	twin := newAuthority(t, "Lab Root CA", "Cleanroom") // made anew under the same name
	broker := ca.issue(t, loopbackBroker("broker"))
	runBrokerCertificateCases(t, []brokerCertificateCase{{
		name:   "CA file without the issuer",
		server: broker,
		client: &tls.Config{RootCAs: other.pool()},
		target: Target{CAFile: other.file},
		want:   "The broker's certificate was issued by 'Lab Root CA' (Cleanroom), which the CA file " + other.file + " does not contain. Point -mqtt-ca-file (MQTT_CA_FILE) at the CA that signed the broker's certificate.",
	}, {
		name:   "system authorities",
		server: broker,
		client: &tls.Config{},
		want:   "The broker's certificate was issued by 'Lab Root CA' (Cleanroom), which is not among the system's trusted authorities. Set -mqtt-ca-file (MQTT_CA_FILE) to the CA that signed the broker's certificate.",
	}, {
		name:   "another CA with the same name",
		server: broker,
		client: &tls.Config{RootCAs: twin.pool()},
		target: Target{CAFile: twin.file},
		want:   "The broker's certificate was issued by 'Lab Root CA' (Cleanroom), but not by the 'Lab Root CA' (Cleanroom) in the CA file " + twin.file + ": they are two different CAs with the same name (was the CA made anew?). Point -mqtt-ca-file (MQTT_CA_FILE) at the CA that really signed the broker's certificate.",
	}})
}

func TestWrongName(t *testing.T) {
	ca := newAuthority(t, "Lab Root CA", "Cleanroom")
	elsewhere := ca.issue(t, leafSpec{name: "mqtt.example.org", dnsNames: []string{"mqtt.example.org", "mqtt"}, ips: []net.IP{net.IPv4(10, 0, 0, 5)}})
	commonNameOnly := ca.issue(t, leafSpec{name: "127.0.0.1"})
	runBrokerCertificateCases(t, []brokerCertificateCase{{
		name:   "host in the URL",
		server: elsewhere,
		client: &tls.Config{RootCAs: ca.pool()},
		want:   "The broker's certificate is for mqtt.example.org, mqtt and 10.0.0.5, not for 127.0.0.1, the host in -mqtt-url (MQTT_URL). Use one of the certificate's names as that host, or set -mqtt-server-name (MQTT_SERVER_NAME) to one of them.",
	}, {
		name:   "server name option",
		server: elsewhere,
		client: &tls.Config{RootCAs: ca.pool(), ServerName: "broker.lab"},
		want:   "The broker's certificate is for mqtt.example.org, mqtt and 10.0.0.5, but -mqtt-server-name (MQTT_SERVER_NAME) expects 'broker.lab'. Set -mqtt-server-name (MQTT_SERVER_NAME) to one of the certificate's names, or leave it empty to check the host of -mqtt-url (MQTT_URL).",
	}, {
		name:   "common name only",
		server: commonNameOnly,
		client: &tls.Config{RootCAs: ca.pool()},
		want:   "The broker's certificate names no host the way TLS requires today: it has only the subject '127.0.0.1' and no subject alternative names. Give the broker a certificate with 127.0.0.1 as a subject alternative name.",
	}})
}

func TestBrokerCertificateDates(t *testing.T) {
	ca := newAuthority(t, "Lab Root CA", "Cleanroom")
	expired := loopbackBroker("expired")
	expired.notBefore, expired.notAfter = lastYear, expiry
	early := loopbackBroker("early")
	early.notBefore, early.notAfter = someday, someday.AddDate(1, 0, 0)
	oldCA := newAuthorityValid(t, "Old CA", "Cleanroom", lastYear, expiry)
	runBrokerCertificateCases(t, []brokerCertificateCase{{
		name:   "expired",
		server: ca.issue(t, expired),
		client: &tls.Config{RootCAs: ca.pool()},
		target: Target{CAFile: ca.file},
		want:   "The broker's certificate expired on 2026-11-20. Give the broker a renewed certificate (mosquitto: certfile); if that date looks wrong, check this machine's clock.",
	}, {
		name:   "not yet valid",
		server: ca.issue(t, early),
		client: &tls.Config{RootCAs: ca.pool()},
		target: Target{CAFile: ca.file},
		want:   "The broker's certificate is valid only from 2099-01-01 00:00 UTC on, and this machine's clock says {now}. Check the clock of this machine and of the one that made the certificate.",
	}, {
		name:   "expired CA",
		server: oldCA.issue(t, loopbackBroker("broker")),
		client: &tls.Config{RootCAs: oldCA.pool()},
		target: Target{CAFile: oldCA.file},
		want:   "The CA certificate 'Old CA' (Cleanroom) in " + oldCA.file + " expired on 2026-11-20. Renew the CA and the broker's certificate, and point -mqtt-ca-file (MQTT_CA_FILE) at the new CA; if that date looks wrong, check this machine's clock.",
	}})
}

func TestBrokerCertificateForClients(t *testing.T) {
	ca := newAuthority(t, "Lab Root CA", "Cleanroom")
	clientOnly := loopbackBroker("client-only")
	clientOnly.client = true
	runBrokerCertificateCases(t, []brokerCertificateCase{{
		name:   "client certificate on the broker",
		server: ca.issue(t, clientOnly),
		client: &tls.Config{RootCAs: ca.pool()},
		want:   "The broker's certificate is not made for a server: its extended key usage lacks TLS server authentication. Give the broker a server certificate.",
	}})
}
