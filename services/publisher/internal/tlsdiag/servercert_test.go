package tlsdiag

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/testpki"
)

// brokerCertificateCase is one server certificate problem: what the
// test broker presents, what the bridge trusts and expects, and the
// message wanted.
type brokerCertificateCase struct {
	name   string
	server *testpki.Cert
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
			addr := serveTLS(t, &tls.Config{Certificates: []tls.Certificate{c.server.Pair}}, waitForClient)
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
	ca := testpki.MustNew(t, testpki.CAOptions{CommonName: "Lab Root CA", Organization: "Cleanroom"})
	other := testpki.MustNew(t, testpki.CAOptions{CommonName: "Other CA", Organization: "Elsewhere"})
	twin := testpki.MustNew(t, testpki.CAOptions{CommonName: "Lab Root CA", Organization: "Cleanroom"}) // made anew under the same name
	broker := ca.MustIssue(t, testpki.Loopback("broker", testpki.Server))
	runBrokerCertificateCases(t, []brokerCertificateCase{{
		name:   "CA file without the issuer",
		server: broker,
		client: &tls.Config{RootCAs: other.Pool()},
		target: Target{CAFile: other.File},
		want:   "The broker's certificate was issued by 'Lab Root CA' (Cleanroom), which the CA file " + other.File + " does not contain. Point -mqtt-ca-file (MQTT_CA_FILE) at the CA that signed the broker's certificate.",
	}, {
		name:   "system authorities",
		server: broker,
		client: &tls.Config{},
		want:   "The broker's certificate was issued by 'Lab Root CA' (Cleanroom), which is not among the system's trusted authorities. Set -mqtt-ca-file (MQTT_CA_FILE) to the CA that signed the broker's certificate.",
	}, {
		name:   "another CA with the same name",
		server: broker,
		client: &tls.Config{RootCAs: twin.Pool()},
		target: Target{CAFile: twin.File},
		want:   "The broker's certificate was issued by 'Lab Root CA' (Cleanroom), but not by the 'Lab Root CA' (Cleanroom) in the CA file " + twin.File + ": they are two different CAs with the same name (was the CA made anew?). Point -mqtt-ca-file (MQTT_CA_FILE) at the CA that really signed the broker's certificate.",
	}})
}

func TestWrongName(t *testing.T) {
	ca := testpki.MustNew(t, testpki.CAOptions{CommonName: "Lab Root CA", Organization: "Cleanroom"})
	elsewhere := ca.MustIssue(t, testpki.Spec{Name: "mqtt.example.org", DNSNames: []string{"mqtt.example.org", "mqtt"}, IPs: []net.IP{net.IPv4(10, 0, 0, 5)}})
	commonNameOnly := ca.MustIssue(t, testpki.Spec{Name: "127.0.0.1"})
	runBrokerCertificateCases(t, []brokerCertificateCase{{
		name:   "host in the URL",
		server: elsewhere,
		client: &tls.Config{RootCAs: ca.Pool()},
		want:   "The broker's certificate is for mqtt.example.org, mqtt and 10.0.0.5, not for 127.0.0.1, the host in -mqtt-url (MQTT_URL). Use one of the certificate's names as that host, or set -mqtt-server-name (MQTT_SERVER_NAME) to one of them.",
	}, {
		name:   "server name option",
		server: elsewhere,
		client: &tls.Config{RootCAs: ca.Pool(), ServerName: "broker.lab"},
		want:   "The broker's certificate is for mqtt.example.org, mqtt and 10.0.0.5, but -mqtt-server-name (MQTT_SERVER_NAME) expects 'broker.lab'. Set -mqtt-server-name (MQTT_SERVER_NAME) to one of the certificate's names, or leave it empty to check the host of -mqtt-url (MQTT_URL).",
	}, {
		name:   "common name only",
		server: commonNameOnly,
		client: &tls.Config{RootCAs: ca.Pool()},
		want:   "The broker's certificate names no host the way TLS requires today: it has only the subject '127.0.0.1' and no subject alternative names. Give the broker a certificate with 127.0.0.1 as a subject alternative name.",
	}})
}

func TestBrokerCertificateDates(t *testing.T) {
	ca := testpki.MustNew(t, testpki.CAOptions{CommonName: "Lab Root CA", Organization: "Cleanroom"})
	expired := testpki.Loopback("expired", testpki.Server)
	expired.NotBefore, expired.NotAfter = lastYear, expiry
	early := testpki.Loopback("early", testpki.Server)
	early.NotBefore, early.NotAfter = someday, someday.AddDate(1, 0, 0)
	oldCA := testpki.MustNew(t, testpki.CAOptions{CommonName: "Old CA", Organization: "Cleanroom", NotBefore: lastYear, NotAfter: expiry})
	runBrokerCertificateCases(t, []brokerCertificateCase{{
		name:   "expired",
		server: ca.MustIssue(t, expired),
		client: &tls.Config{RootCAs: ca.Pool()},
		target: Target{CAFile: ca.File},
		want:   "The broker's certificate expired on 2026-11-20. Give the broker a renewed certificate (mosquitto: certfile); if that date looks wrong, check this machine's clock.",
	}, {
		name:   "not yet valid",
		server: ca.MustIssue(t, early),
		client: &tls.Config{RootCAs: ca.Pool()},
		target: Target{CAFile: ca.File},
		want:   "The broker's certificate is valid only from 2099-01-01 00:00 UTC on, and this machine's clock says {now}. Check the clock of this machine and of the one that made the certificate.",
	}, {
		name:   "expired CA",
		server: oldCA.MustIssue(t, testpki.Loopback("broker", testpki.Server)),
		client: &tls.Config{RootCAs: oldCA.Pool()},
		target: Target{CAFile: oldCA.File},
		want:   "The CA certificate 'Old CA' (Cleanroom) in " + oldCA.File + " expired on 2026-11-20. Renew the CA and the broker's certificate, and point -mqtt-ca-file (MQTT_CA_FILE) at the new CA; if that date looks wrong, check this machine's clock.",
	}})
}

func TestBrokerCertificateForClients(t *testing.T) {
	ca := testpki.MustNew(t, testpki.CAOptions{CommonName: "Lab Root CA", Organization: "Cleanroom"})
	clientOnly := testpki.Loopback("client-only", testpki.Client)
	runBrokerCertificateCases(t, []brokerCertificateCase{{
		name:   "client certificate on the broker",
		server: ca.MustIssue(t, clientOnly),
		client: &tls.Config{RootCAs: ca.Pool()},
		want:   "The broker's certificate is not made for a server: its extended key usage lacks TLS server authentication. Give the broker a server certificate.",
	}})
}

// Fixed dates, so that the messages the tests expect are fixed too.
var (
	lastYear = time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	expiry   = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	someday  = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
)
