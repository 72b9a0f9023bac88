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
	log                string
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
	// Name tells apart the files and the log of a second broker in one
	// environment (empty: "mosquitto", the first).
	Name string
	// Bridge, when set, makes this broker a node of a cluster with
	// another: it bridges every topic both ways with the broker there.
	Bridge *MosquittoBridge
	// LogPublishes logs every packet (log_type debug), so that the log
	// says which client published each message.
	LogPublishes bool
}

// MosquittoBridge is mosquitto's bridge to another broker (a "connection"
// section): every topic, both ways, at QoS 1, as a cluster of two nodes.
type MosquittoBridge struct {
	// Addr is the other broker's plain listener.
	Addr string
	// User and Password log in to it, when it wants a login.
	User, Password string
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
	name, dir := o.Name, e.Dir
	if name == "" {
		name = "mosquitto"
	} else {
		// Its own persistence directory: mosquitto.db there is its own.
		dir = filepath.Join(e.Dir, name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	logPath := filepath.Join(e.Dir, name+".log")
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
`, len(o.Users) == 0, dir, logPath, tlsPort, pki.CAFile, server.CertFile, server.KeyFile, o.RequireCertificate, o.IdentityAsUsername, plainPort)
	if len(o.Users) > 0 {
		auth, err := e.writeAuth(o, dir)
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
	if b := o.Bridge; b != nil {
		// Last: the lines after "connection" configure the bridge.
		// try_private (the default) tells the other mosquitto that this is
		// a bridge, so that it does not send a message back where it came
		// from; restart_timeout brings the bridge back within seconds.
		conf += fmt.Sprintf("connection %s-bridge\naddress %s\ntopic # both 1\nrestart_timeout 1 5\n", name, b.Addr)
		if b.User != "" {
			conf += fmt.Sprintf("remote_username %s\nremote_password %s\n", b.User, b.Password)
		}
	}
	path := filepath.Join(e.Dir, name+".conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	e.addLog(logPath)
	p, err := e.StartProcess(name+"-stdout", "mosquitto", "-c", path)
	if err != nil {
		return nil, err
	}
	m := &Mosquitto{
		Process:   p,
		TLSAddr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsPort)),
		PlainAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(plainPort)),
		log:       logPath,
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
	b, err := os.ReadFile(m.log)
	return string(b), err
}

// TLSURL is what the publisher is given.
func (m *Mosquitto) TLSURL() string { return "mqtts://" + m.TLSAddr }

// writeAuth makes the password file with mosquitto_passwd and the ACL
// file in dir, and returns the configuration lines naming them.
func (e *Env) writeAuth(o MosquittoOptions, dir string) (string, error) {
	passwords := filepath.Join(dir, "passwords")
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
		acl := filepath.Join(dir, "acl")
		if err := os.WriteFile(acl, []byte(o.ACL), 0o600); err != nil {
			return "", err
		}
		conf += "acl_file " + acl + "\n"
	}
	return conf, nil
}
