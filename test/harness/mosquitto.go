package harness

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Mosquitto is a real broker with a TLS listener (certificates from a PKI)
// and a plain one.
type Mosquitto struct {
	*Process
	TLSAddr, PlainAddr string
}

// MosquittoOptions tune the broker.
type MosquittoOptions struct {
	// MaxInflight is max_inflight_messages, the Receive Maximum it
	// announces (0: mosquitto's default of 20).
	MaxInflight int
	// Users and ACL, when set, turn anonymous access off: Users maps user
	// names to passwords, ACL is mosquitto's acl_file content.
	Users map[string]string
	ACL   string
	// ServerCert replaces the PKI's server certificate on the TLS listener,
	// e.g. with an expired one or one for another name.
	ServerCert *KeyPair
	// RequireCertificate makes the TLS listener ask clients for a
	// certificate signed by the PKI's CA (mutual TLS).
	RequireCertificate bool
	// IdentityAsUsername makes the TLS listener take the client
	// certificate's common name as the user name (use_identity_as_username),
	// which the broker's log then shows as u'<name>'.
	IdentityAsUsername bool
	// LogPublishes logs every packet (log_type debug), so that the log
	// says which client published each message.
	LogPublishes bool
}

// StartMosquitto runs mosquitto with TLS from pki.
func (e *Env) StartMosquitto(pki *PKI, o MosquittoOptions) (*Mosquitto, error) {
	tlsPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	plainPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	server := KeyPair{CertFile: pki.CertFile, KeyFile: pki.KeyFile}
	if o.ServerCert != nil {
		server = *o.ServerCert
	}
	// Persistence keeps, across a restart, the retained messages and what
	// the broker acknowledged but had not passed on yet (the bridge's
	// promise ends at the broker's acknowledgement). mosquitto 2.0.11 does
	// not bring MQTT v5 sessions back with it, though: see Gate.
	// max_queued_messages 0 lifts the per-client queue limit (default
	// 1000), so a slow test subscriber is never the one losing messages.
	conf := fmt.Sprintf(`per_listener_settings false
allow_anonymous %t
max_queued_messages 0
persistence true
persistence_location %s/
log_dest file %s
log_type error
log_type warning
log_type notice
log_type information
listener %d 127.0.0.1
cafile %s
certfile %s
keyfile %s
require_certificate %t
use_identity_as_username %t
listener %d 127.0.0.1
`, len(o.Users) == 0, e.Dir, filepath.Join(e.Dir, "mosquitto.log"), tlsPort, pki.CAFile, server.CertFile, server.KeyFile, o.RequireCertificate, o.IdentityAsUsername, plainPort)
	if len(o.Users) > 0 {
		auth, err := e.writeAuth(o)
		if err != nil {
			return nil, err
		}
		conf += auth
	}
	if o.LogPublishes {
		conf += "log_type debug\n"
	}
	if o.MaxInflight > 0 {
		conf += fmt.Sprintf("max_inflight_messages %d\n", o.MaxInflight)
	}
	if os.Geteuid() == 0 {
		// Started as root, mosquitto drops to its own user, which cannot
		// read the keys in this private directory.
		conf += "user root\n"
	}
	path := filepath.Join(e.Dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	e.addLog(filepath.Join(e.Dir, "mosquitto.log"))
	p, err := e.StartProcess("mosquitto-stdout", "mosquitto", "-c", path)
	if err != nil {
		return nil, err
	}
	m := &Mosquitto{
		Process:   p,
		TLSAddr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort)),
		PlainAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(plainPort)),
	}
	return m, m.waitUp()
}

func (m *Mosquitto) waitUp() error {
	if err := WaitTCP(m.TLSAddr, 10*time.Second); err != nil {
		return err
	}
	return WaitTCP(m.PlainAddr, 10*time.Second)
}

// Restart starts the broker again on the same ports after Stop.
func (m *Mosquitto) Restart() error {
	if err := m.Start(); err != nil {
		return err
	}
	return m.waitUp()
}

// Log is what the broker has logged so far.
func (m *Mosquitto) Log() (string, error) {
	b, err := os.ReadFile(filepath.Join(m.env.Dir, "mosquitto.log"))
	return string(b), err
}

// TLSURL is what the publisher is given.
func (m *Mosquitto) TLSURL() string { return "mqtts://" + m.TLSAddr }

// writeAuth makes the password file with mosquitto_passwd and the ACL
// file, and returns the configuration lines naming them.
func (e *Env) writeAuth(o MosquittoOptions) (string, error) {
	passwords := filepath.Join(e.Dir, "passwords")
	for user, password := range o.Users {
		args := []string{"-b", passwords, user, password}
		if _, err := os.Stat(passwords); err != nil {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command("mosquitto_passwd", args...).CombinedOutput(); err != nil {
			return "", fmt.Errorf("mosquitto_passwd: %v: %s", err, out)
		}
	}
	conf := "password_file " + passwords + "\n"
	if o.ACL != "" {
		acl := filepath.Join(e.Dir, "acl")
		if err := os.WriteFile(acl, []byte(o.ACL), 0o600); err != nil {
			return "", err
		}
		conf += "acl_file " + acl + "\n"
	}
	return conf, nil
}
