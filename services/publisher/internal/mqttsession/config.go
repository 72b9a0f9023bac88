// Package mqttsession owns the bridge's one MQTT v5 session with the broker:
// connection settings, TLS, reconnects, and the connection's state for
// health and status.
package mqttsession

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/tlsdiag"
)

// Config is how to reach and authenticate to the broker.
type Config struct {
	URL           string
	ClientID      string
	Username      string
	Password      string
	CAFile        string
	CertFile      string
	KeyFile       string
	ServerName    string
	KeepAlive     time.Duration
	SessionExpiry time.Duration
	// StatusTopic receives the bridge's retained online/offline status and
	// last will; empty turns it off.
	StatusTopic string
	// Version is announced on the status topic.
	Version string
	// TLSMinVersion is "1.2" or "1.3".
	TLSMinVersion string
	// InsecureSkipVerify accepts any broker certificate; for tests only.
	InsecureSkipVerify bool
}

// brokerURL parses the URL and maps the schemes people write (mqtt, mqtts,
// tcp, ssl, tls) onto the two autopaho dials.
func (c Config) brokerURL() (*url.URL, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("MQTT URL %q: %w", c.URL, err)
	}
	switch u.Scheme {
	case "mqtt", "tcp":
		u.Scheme = "mqtt"
	case "mqtts", "ssl", "tls":
		u.Scheme = "tls"
	default:
		return nil, fmt.Errorf("MQTT URL %q: scheme %q is not supported, use mqtt:// or mqtts://", c.URL, u.Scheme)
	}
	if u.Port() == "" {
		port := "1883"
		if u.Scheme == "tls" {
			port = "8883"
		}
		u.Host = u.Hostname() + ":" + port
	}
	return u, nil
}

// Broker is the broker's URL as configured, without credentials.
func (c Config) Broker() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	return u.Redacted()
}

// tlsConfig reads the CA and client certificate files. It runs at every
// connection attempt, so that renewed files (a rotated Kubernetes secret)
// are used at the next connect, and a missing or broken file is reported
// and retried rather than stopping the publisher. Every problem names the
// file and what is wrong with it.
func (c Config) tlsConfig() (*tls.Config, error) {
	minVersion, err := c.minVersion()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: minVersion, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("MQTT CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("MQTT CA file %s: no PEM certificate found in it", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, fmt.Errorf("MQTT client certificate: give both the certificate file and the key file (got certificate %q, key %q)", c.CertFile, c.KeyFile)
	}
	if c.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("MQTT client certificate %s with key %s: %w", c.CertFile, c.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func (c Config) minVersion() (uint16, error) {
	switch c.TLSMinVersion {
	case "", "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("MQTT TLS minimum version %q: want 1.2 or 1.3", c.TLSMinVersion)
}

// target describes the connection to u for tlsdiag, which explains
// failures.
func (c Config) target(u *url.URL) tlsdiag.Target {
	t := tlsdiag.Target{Addr: u.Host, CAFile: c.CAFile, CertFile: c.CertFile, KeyFile: c.KeyFile, Username: c.Username, ClientID: c.ClientID}
	if u.Scheme == "tls" {
		t.TLS, _ = c.tlsConfig()
	}
	return t
}
