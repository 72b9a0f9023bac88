package tlsdiag

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

const (
	// probeTimeout bounds the probe's dial and handshake.
	probeTimeout = 5 * time.Second
	// verdictWait is how long the probe listens after its handshake for
	// the broker's verdict on the client certificate; on a LAN it comes
	// within milliseconds.
	verdictWait = 2 * time.Second
)

var (
	// errHungUpInHandshake: the broker hung up halfway through the
	// handshake, as a plain MQTT port does when spoken to in TLS.
	errHungUpInHandshake = errors.New("the broker hung up during the TLS handshake")
	// errTLSAccepted: the broker took the handshake and the client
	// certificate, so its hanging up on the session had another cause.
	errTLSAccepted = errors.New("the broker accepted the TLS session")
)

// hungUp reports whether the broker closed the connection without saying
// why.
func hungUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE)
}

// probe repeats the session's TLS handshake and then listens, sending
// nothing. Under TLS 1.3 the client's side of the handshake ends before the
// broker has checked the client certificate, so a refusal comes as an
// alert just after it. The session has already sent its CONNECT by then:
// the broker closes with that CONNECT unread, its kernel answers with a
// reset, and the session fails on the reset before it reads the alert.
// A broker that accepts the certificate stays silent, waiting for CONNECT.
//
// probe returns the broker's refusal, errHungUpInHandshake, errTLSAccepted,
// or nil when it learned nothing.
func probe(ctx context.Context, addr string, cfg *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", addr)
	if err != nil {
		if hungUp(err) {
			return fmt.Errorf("%w: %w", errHungUpInHandshake, err)
		}
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := conn.SetReadDeadline(time.Now().Add(verdictWait)); err != nil {
		return nil
	}
	_, err = conn.Read(make([]byte, 1))
	switch _, alert := alertOf(err); {
	case alert:
		return err
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errTLSAccepted
	}
	return nil
}

// brokerHungUp explains a connection the broker closed without saying why,
// with what the probe learned if it ran.
func brokerHungUp(err error, t Target) (string, bool) {
	switch {
	case errors.Is(err, errTLSAccepted):
		return fmt.Sprintf("The broker at %s accepted the TLS connection, then closed it before answering the MQTT login. The broker's log says why.", t.Addr), true
	case !hungUp(err):
		return "", false
	case t.TLS == nil:
		return fmt.Sprintf("The broker at %s closed the connection before answering. If %s is a TLS port (MQTT over TLS usually uses 8883), use mqtts:// in %s.",
			t.Addr, port(t.Addr), option("mqtt-url")), true
	case t.CertFile == "":
		return fmt.Sprintf("The broker at %s closed the connection during or right after the TLS handshake without saying why, most likely because it requires a client certificate. %s",
			t.Addr, setClientCertificate()), true
	}
	cert := clientCertificate(t.CertFile)
	if msg, ok := clientCertificateExpired(cert, t); ok {
		return msg, true
	}
	return fmt.Sprintf("The broker at %s closed the connection during or right after the TLS handshake without saying why, most likely because it refuses the bridge's client certificate %s. Check that the broker trusts %s, which issued it (mosquitto: cafile).",
		t.Addr, t.CertFile, issuerOf(cert)), true
}

// notTLS explains a TLS connection to a port that does not speak TLS:
// the broker's plain MQTT port, most often.
func notTLS(err error, t Target) (string, bool) {
	if _, ok := errors.AsType[tls.RecordHeaderError](err); !ok && !errors.Is(err, errHungUpInHandshake) {
		return "", false
	}
	return fmt.Sprintf("The broker at %s does not answer in TLS, so %s is most likely its plain MQTT port (MQTT over TLS usually uses 8883, plain MQTT 1883). Put the broker's TLS port in %s, or use mqtt:// if the broker has no TLS.",
		t.Addr, port(t.Addr), option("mqtt-url")), true
}
