package tlsdiag

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

func TestUnknownErrorsPassOn(t *testing.T) {
	// autopaho names the URL, password and all; the message must not.
	err := fmt.Errorf("failed to connect to %s: %w", "mqtts://nemo:secret@broker.lab:8883", errors.New("something odd"))
	expect(t, Explain(t.Context(), err, Target{Addr: "broker.lab:8883"}),
		"The bridge cannot connect to the broker at broker.lab:8883: something odd.", nil)
}

func TestExplainHonoursContext(t *testing.T) {
	// A broker that takes the probe's connection and never answers.
	addr := serve(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	hungUp := fmt.Errorf("failed to connect to tls://%s: %w", addr, io.EOF)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	msg := Explain(ctx, hungUp, Target{Addr: addr, TLS: &tls.Config{}})
	if took := time.Since(start); took > time.Second {
		t.Errorf("Explain took %v with a context of 100ms", took)
	}
	// What the probe could not finish must not replace what is known.
	expect(t, msg,
		"The broker at {addr} closed the connection during or right after the TLS handshake without saying why, most likely because it requires a client certificate. Set -mqtt-cert-file (MQTT_CERT_FILE) and -mqtt-key-file (MQTT_KEY_FILE) to a certificate and key signed by a CA the broker trusts.",
		map[string]string{"addr": addr})
}
