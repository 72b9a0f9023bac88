// Package tlsdiag turns a failure to reach the MQTT broker (its
// certificate, the bridge's client certificate, the login, the network)
// into one or two sentences a lab admin can act on: what is wrong, with the
// files, names and dates involved, and which option to change.
package tlsdiag

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/eclipse/paho.golang/autopaho"
)

// Target is what the bridge connects to and with which settings; the
// messages name them.
type Target struct {
	// Addr is the broker's host:port as dialled.
	Addr string
	// TLS is the session's TLS configuration, nil for mqtt://. Its
	// ServerName is the -mqtt-server-name override, empty when not set.
	TLS *tls.Config
	// CAFile, CertFile and KeyFile are -mqtt-ca-file, -mqtt-cert-file and
	// -mqtt-key-file; an empty CAFile means the system's authorities.
	CAFile, CertFile, KeyFile string
	Username, ClientID        string
}

// Explain says what is wrong and what to do about err, an error from
// starting the session or one handed to autopaho's OnConnectError.
//
// When err only says that the broker hung up, which is how a refused client
// certificate usually arrives under TLS 1.3, Explain first makes one probe
// connection to learn why (see probe). That takes a few seconds at most,
// and never longer than ctx allows.
func Explain(ctx context.Context, err error, t Target) string {
	if err == nil {
		return ""
	}
	// A CONNACK (even one wrapping a later failure) proves the handshake
	// and the login passed: nothing to probe.
	_, connacked := errors.AsType[*autopaho.ConnackError](err)
	if t.TLS != nil && hungUp(err) && !connacked {
		// A probe cut short by ctx says nothing about the broker.
		if verdict := probe(ctx, t.Addr, t.TLS); verdict != nil && ctx.Err() == nil {
			err = verdict
		}
	}
	return explain(err, t)
}

// explain is Explain without the probe: each reader recognises one kind of
// failure. The CONNACK refusal comes first because it wraps paho's error.
func explain(err error, t Target) string {
	for _, read := range []func(error, Target) (string, bool){
		loginRefused,
		serverCertificate,
		tlsAlert,
		notTLS,
		brokerHungUp,
		unreachable,
		unreadableFile,
	} {
		if msg, ok := read(err, t); ok {
			return msg
		}
	}
	return passOn(err, t)
}

// passOn words an error no reader knows. Errors from reading the settings
// are already written for people; a connection error loses autopaho's
// "failed to connect to <URL>" prefix, as the URL may carry a password.
func passOn(err error, t Target) string {
	if inner := errors.Unwrap(err); inner != nil && strings.HasPrefix(err.Error(), "failed to connect to ") {
		return fmt.Sprintf("The bridge cannot connect to the broker at %s: %v.", t.Addr, inner)
	}
	return sentence(err.Error())
}
