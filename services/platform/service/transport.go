package service

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// transport is how a service's gRPC connections are secured, listening
// and dialling alike: mutual TLS with the -grpc-tls-* files (the
// production setting), else plain text, which stays on this machine
// unless -grpc-insecure says otherwise. Plain text beyond loopback would
// let anyone who reaches a port read the lab's events and send the
// pipeline their own, so it takes an explicit flag, not a forgotten one.
type transport struct {
	tls      *tlsSource // nil: plain text
	insecure bool       // plain text also beyond loopback
}

// newTransport reads the TLS files or checks that plain text is allowed
// on o.GRPCAddr, and says in the log which it is.
func newTransport(o Options, log *slog.Logger) (transport, error) {
	if !o.TLS.any() {
		switch {
		case isLoopback(o.GRPCAddr):
			log.Warn("gRPC without TLS: only programs on this machine can connect; set -grpc-tls-cert, -grpc-tls-key and -grpc-tls-ca to listen beyond it",
				"addr", o.GRPCAddr)
		case o.Insecure:
			log.Warn("INSECURE: gRPC WITHOUT TLS beyond this machine (-grpc-insecure): anyone who reaches this port can read the events and send the service their own; use it only on a network encrypted and closed by other means",
				"addr", o.GRPCAddr)
		default:
			return transport{}, fmt.Errorf("gRPC on %s is beyond this machine and has no TLS: set -grpc-tls-cert, -grpc-tls-key and -grpc-tls-ca (mutual TLS, the production setting), listen on loopback (-grpc-addr 127.0.0.1:PORT), or accept plain text with -grpc-insecure", o.GRPCAddr)
		}
		return transport{insecure: o.Insecure}, nil
	}
	if o.Insecure {
		return transport{}, errors.New("-grpc-insecure and the -grpc-tls-* files are both set: choose TLS or plain text")
	}
	if err := o.TLS.complete(); err != nil {
		return transport{}, err
	}
	clientAuth, mode := tls.RequireAndVerifyClientCert, "mutual TLS: clients need a certificate of the CA"
	if o.PublicAPI {
		clientAuth, mode = tls.NoClientCert, "TLS: clients need no certificate (a public API, which authenticates them otherwise)"
	}
	src, err := newTLSSource(o.TLS, clientAuth, log)
	if err != nil {
		return transport{}, fmt.Errorf("gRPC TLS: %w", err)
	}
	leaf := src.last().leaf
	log.Info("gRPC with "+mode, "cert_file", o.TLS.Cert, "subject", leaf.Subject.String(),
		"expires", leaf.NotAfter.UTC().Format("2006-01-02"), "ca_file", o.TLS.CA)
	return transport{tls: src}, nil
}

func (t transport) serverCredentials() credentials.TransportCredentials {
	if t.tls == nil {
		return insecure.NewCredentials()
	}
	return reloadingCreds{src: t.tls, server: true}
}

// dialCredentials secure a connection to addr: this service's certificate
// and the CA, or plain text to a peer on this machine (or anywhere with
// -grpc-insecure).
func (t transport) dialCredentials(addr string) (credentials.TransportCredentials, error) {
	if t.tls != nil {
		if cert := t.tls.last().leaf; !allowsUsage(cert, x509.ExtKeyUsageClientAuth) {
			return nil, fmt.Errorf("cannot call %s: -grpc-tls-cert %s may not be used by a client: its extended key usage lacks clientAuth", addr, t.tls.files.Cert)
		}
		return reloadingCreds{src: t.tls}, nil
	}
	if !t.insecure && !isLoopback(addr) {
		return nil, fmt.Errorf("cannot call %s without TLS: it is not on this machine; set -grpc-tls-cert, -grpc-tls-key and -grpc-tls-ca (or -grpc-insecure for plain text)", addr)
	}
	return insecure.NewCredentials(), nil
}

// isLoopback reports whether addr (host:port) is on this machine for
// sure: localhost or a loopback IP. An empty host (every interface) or any
// other name is not; names are not resolved, as they may change.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
