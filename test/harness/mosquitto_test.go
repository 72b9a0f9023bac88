package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// mqttConnect opens an MQTT v5 session over TLS and closes it: the
// handshake is checked by tls.Dial, a client certificate the broker
// refuses only shows when the CONNECT goes unanswered.
func mqttConnect(addr string, cfg *tls.Config) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: fmt.Sprintf("harness-%d", time.Now().UnixNano()), KeepAlive: 30, CleanStart: true})
	if err != nil {
		conn.Close()
		return err
	}
	if ack.ReasonCode != 0 {
		conn.Close()
		return fmt.Errorf("CONNACK reason %d", ack.ReasonCode)
	}
	// The session was granted; how the goodbye goes is not under test.
	_ = c.Disconnect(&paho.Disconnect{})
	return nil
}

func trusting(p *PKI) *tls.Config {
	return &tls.Config{RootCAs: p.Pool(), MinVersion: tls.VersionTLS12}
}

// The broker's TLS listener is trusted through the generated CA, and it
// comes back on the same ports after a restart.
func TestMosquittoTLSWithTheGeneratedCAAndRestart(t *testing.T) {
	env := testEnv(t)
	pki, err := env.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	m, err := env.StartMosquitto(pki, MosquittoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := mqttConnect(m.TLSAddr, trusting(pki)); err != nil {
		t.Fatalf("MQTT over TLS with the generated CA: %v", err)
	}
	localhost := trusting(pki)
	localhost.ServerName = "localhost"
	if err := mqttConnect(m.TLSAddr, localhost); err != nil {
		t.Fatalf("MQTT over TLS as localhost: %v", err)
	}
	if err := m.Stop(); err != nil {
		t.Fatalf("mosquitto on SIGTERM: %v", err)
	}
	if err := WaitTCP(m.TLSAddr, 100*time.Millisecond); err == nil {
		t.Fatal("the TLS port still accepts connections after Stop")
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := mqttConnect(m.TLSAddr, trusting(pki)); err != nil {
		t.Fatalf("MQTT over TLS after Restart: %v", err)
	}
}

// The certificate variants fail the way a lab admin would meet them.
func TestMosquittoCertificateVariantsFailVerification(t *testing.T) {
	pki, err := testEnv(t).NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	expired, err := pki.Issue(CertSpec{Name: "expired", CommonName: "127.0.0.1", IPs: []net.IP{net.ParseIP("127.0.0.1")}, Expired: true})
	if err != nil {
		t.Fatal(err)
	}
	otherName, err := pki.Issue(CertSpec{Name: "other-name", CommonName: "broker.example", DNSNames: []string{"broker.example"}})
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := testEnv(t).NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		server *KeyPair
		trust  *PKI
		want   func(error) bool
	}{
		{"unknown authority", nil, stranger, func(err error) bool { var e x509.UnknownAuthorityError; return errors.As(err, &e) }},
		{"expired", &expired, pki, func(err error) bool {
			var e x509.CertificateInvalidError
			return errors.As(err, &e) && e.Reason == x509.Expired
		}},
		{"wrong name", &otherName, pki, func(err error) bool { var e x509.HostnameError; return errors.As(err, &e) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := testEnv(t).StartMosquitto(pki, MosquittoOptions{ServerCert: tc.server})
			if err != nil {
				t.Fatal(err)
			}
			err = mqttConnect(m.TLSAddr, trusting(tc.trust))
			if !tc.want(err) {
				t.Fatalf("connect: got %v (%T)", err, err)
			}
		})
	}
}

// With require_certificate, only a client holding a certificate from the
// CA gets a session.
func TestMosquittoRequireCertificate(t *testing.T) {
	env := testEnv(t)
	pki, err := env.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	m, err := env.StartMosquitto(pki, MosquittoOptions{RequireCertificate: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := mqttConnect(m.TLSAddr, trusting(pki)); err == nil {
		t.Fatal("a client without a certificate got a session")
	}
	client, err := tls.LoadX509KeyPair(pki.ClientCertFile, pki.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := trusting(pki)
	cfg.Certificates = []tls.Certificate{client}
	if err := mqttConnect(m.TLSAddr, cfg); err != nil {
		t.Fatalf("with the client certificate: %v", err)
	}
}

// The Subscriber records what is published, with its properties, and
// resubscribes when the broker comes back.
func TestSubscriberRecordsAcrossABrokerRestart(t *testing.T) {
	env := testEnv(t)
	pki, err := env.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	m, err := env.StartMosquitto(pki, MosquittoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := (&Pipeline{Env: env, PKI: pki, Broker: m}).Subscribe("harness/#")
	if err != nil {
		t.Fatal(err)
	}
	publish := func(payload string) {
		t.Helper()
		if err := publishPlain(m.PlainAddr, "harness/x", payload); err != nil {
			t.Fatal(err)
		}
	}
	publish("before")
	err = sub.WaitFor(10*time.Second, func(msgs []Message) (bool, string) {
		return len(msgs) == 1, fmt.Sprintf("%d messages", len(msgs))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !sub.Subscribed("harness/#", 1) {
		if time.Now().After(deadline) {
			t.Fatal("the subscriber did not come back after the broker restarted")
		}
	}
	publish("after")
	err = sub.WaitFor(10*time.Second, func(msgs []Message) (bool, string) {
		return len(msgs) == 2, fmt.Sprintf("%d messages", len(msgs))
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"before", "after"} {
		got := sub.Messages()[i]
		if string(got.Payload) != want || got.QoS != 1 || got.Retain || got.UserProps["event_id"] != want {
			t.Errorf("message %d: %+v, want payload and event_id %q at QoS 1", i, got, want)
		}
	}
}

// publishPlain publishes once at QoS 1 on the broker's plain listener,
// with the payload as user property event_id.
func publishPlain(addr, topic, payload string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "harness-publisher", KeepAlive: 30, CleanStart: true}); err != nil {
		conn.Close()
		return err
	}
	defer c.Disconnect(&paho.Disconnect{})
	_, err = c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(payload),
		Properties: &paho.PublishProperties{User: paho.UserProperties{{Key: "event_id", Value: payload}}}})
	return err
}
