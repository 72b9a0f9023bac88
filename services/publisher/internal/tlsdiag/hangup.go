package tlsdiag

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
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
	// handshake, and hangs up on plain MQTT too.
	errHungUpInHandshake = errors.New("the broker hung up during the TLS handshake")
	// errPlainMQTT: the broker hung up halfway through the handshake, as
	// a plain MQTT port does when spoken to in TLS, and answered a plain
	// MQTT CONNECT.
	errPlainMQTT = errors.New("the broker answers plain MQTT, not TLS")
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
// A broker that hangs up halfway through the handshake is either a plain
// MQTT port, or not a broker at all: a load balancer or port forward
// whose broker is down takes connections and closes them at once. The
// probe tells the two apart by speaking plain MQTT to it.
//
// probe returns the broker's refusal, errHungUpInHandshake, errPlainMQTT,
// errTLSAccepted, or nil when it learned nothing.
func probe(ctx context.Context, addr string, cfg *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", addr)
	if err != nil {
		if hungUp(err) {
			if speaksPlainMQTT(ctx, addr) {
				return errPlainMQTT
			}
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

// plainConnect is an MQTT 3.1.1 CONNECT with an empty client identifier
// and a clean session, which any MQTT broker answers with a CONNACK (an
// empty identifier takes over no one's session).
var plainConnect = []byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 10, 0, 0}

// speaksPlainMQTT reports whether addr answers plain MQTT: a CONNACK to
// plainConnect, whether it lets the probe in or not.
func speaksPlainMQTT(ctx context.Context, addr string) bool {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if conn.SetDeadline(time.Now().Add(verdictWait)) != nil {
		return false
	}
	if _, err := conn.Write(plainConnect); err != nil {
		return false
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(conn, b); err != nil || b[0] != 0x20 {
		return false
	}
	_, _ = conn.Write([]byte{0xE0, 0}) // DISCONNECT
	return true
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
// the broker's plain MQTT port, most often, or something that takes
// connections and closes them at once.
func notTLS(err error, t Target) (string, bool) {
	_, answered := errors.AsType[tls.RecordHeaderError](err)
	switch {
	case errors.Is(err, errPlainMQTT):
		return fmt.Sprintf("The broker at %s answers plain MQTT, not TLS: %s is its plain MQTT port (MQTT over TLS usually uses 8883, plain MQTT 1883). Put the broker's TLS port in %s, or use mqtt:// if the broker has no TLS.",
			t.Addr, port(t.Addr), option("mqtt-url")), true
	case answered:
		return fmt.Sprintf("The broker at %s does not answer in TLS, so %s is most likely its plain MQTT port (MQTT over TLS usually uses 8883, plain MQTT 1883). Put the broker's TLS port in %s, or use mqtt:// if the broker has no TLS.",
			t.Addr, port(t.Addr), option("mqtt-url")), true
	case errors.Is(err, errHungUpInHandshake):
		return fmt.Sprintf("Something at %s takes the connection but closes it at once, before TLS, and does not answer plain MQTT either: most likely a load balancer, proxy or port forward whose broker is down or out of its reach. Check that the broker behind %s is running; the bridge keeps trying.",
			t.Addr, t.Addr), true
	}
	return "", false
}
