// Package mqttsession owns the bridge's one MQTT v5 session with the broker:
// connection settings, TLS, reconnects, and the connection's state for
// health and status.
package mqttsession

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/tlsdiag"
)

// Config is how to reach and authenticate to the broker.
type Config struct {
	// URL is -mqtt-url: one broker URL, or several (see brokers.go).
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
	// TLSReloadInterval is how often the CA, certificate and key files are
	// checked for renewal while connected; 0 turns the check off (renewed
	// files are then used at the next reconnect).
	TLSReloadInterval time.Duration
}

// tlsFiles are the contents of the CA, client certificate and key files,
// read together for one connection attempt or one check for renewal.
type tlsFiles struct{ ca, cert, key []byte }

// readTLSFiles reads the CA and client certificate files. It runs at every
// connection attempt, so that renewed files (a rotated Kubernetes secret)
// are used at the next connect, and a missing or broken file is reported
// and retried rather than stopping the publisher. Symbolic links are
// followed, as a Kubernetes secret swaps its ..data link.
func (c Config) readTLSFiles() (tlsFiles, error) {
	var f tlsFiles
	var err error
	if c.CAFile != "" {
		if f.ca, err = os.ReadFile(c.CAFile); err != nil {
			return f, fmt.Errorf("MQTT CA file: %w", err)
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return f, fmt.Errorf("MQTT client certificate: give both the certificate file and the key file (got certificate %q, key %q)", c.CertFile, c.KeyFile)
	}
	if c.CertFile != "" {
		for _, file := range []struct {
			path string
			into *[]byte
		}{{c.CertFile, &f.cert}, {c.KeyFile, &f.key}} {
			if *file.into, err = os.ReadFile(file.path); err != nil {
				return f, fmt.Errorf("MQTT client certificate %s with key %s: %w", c.CertFile, c.KeyFile, err)
			}
		}
	}
	return f, nil
}

// sum identifies the files' contents, to notice when they change.
func (f tlsFiles) sum() [sha256.Size]byte {
	h := sha256.New()
	for _, b := range [][]byte{f.ca, f.cert, f.key} {
		_ = binary.Write(h, binary.BigEndian, uint64(len(b)))
		h.Write(b)
	}
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s
}

// tlsConfig reads the TLS files and makes the session's TLS configuration
// from them. Every problem names the file and what is wrong with it.
func (c Config) tlsConfig() (*tls.Config, error) {
	f, err := c.readTLSFiles()
	if err != nil {
		return nil, err
	}
	return c.tlsConfigFrom(f)
}

// tlsConfigFrom makes the TLS configuration from files already read.
func (c Config) tlsConfigFrom(f tlsFiles) (*tls.Config, error) {
	minVersion, err := c.minVersion()
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: minVersion, ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(f.ca) {
			return nil, fmt.Errorf("MQTT CA file %s: no PEM certificate found in it", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	if c.CertFile != "" {
		// A file caught half-written holds no complete PEM block; say so
		// rather than pass on crypto/tls's "failed to find any PEM data".
		if !holdsPEM(f.cert, "CERTIFICATE") {
			return nil, fmt.Errorf("MQTT client certificate %s: no complete PEM certificate in it; it is empty or still being written", c.CertFile)
		}
		if !holdsPEM(f.key, "PRIVATE KEY") {
			return nil, fmt.Errorf("MQTT client key %s: no complete PEM private key in it; it is empty or still being written", c.KeyFile)
		}
		pair, err := tls.X509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, fmt.Errorf("MQTT client certificate %s with key %s: %w", c.CertFile, c.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// holdsPEM reports whether data holds a complete PEM block whose type ends
// in kind ("PRIVATE KEY" matches "EC PRIVATE KEY" and "RSA PRIVATE KEY").
func holdsPEM(data []byte, kind string) bool {
	for {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			return false
		}
		if strings.HasSuffix(block.Type, kind) {
			return true
		}
	}
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

// target describes the connection to broker b for tlsdiag, which
// explains failures.
func (c Config) target(b broker) tlsdiag.Target {
	user, _ := c.login(b)
	t := tlsdiag.Target{Addr: b.url.Host, CAFile: c.CAFile, CertFile: c.CertFile, KeyFile: c.KeyFile, Username: user, ClientID: c.ClientID}
	if b.url.Scheme == "tls" {
		t.TLS, _ = c.tlsConfig()
	}
	return t
}
