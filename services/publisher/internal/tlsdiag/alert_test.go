package tlsdiag

import (
	"crypto/tls"
	"errors"
	"net"
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/testpki"
)

// remoteAlert is a received alert as crypto/tls reports it; its own alert
// type is unexported, so the test stands in one with the same text.
func remoteAlert(a tls.AlertError) error {
	return &net.OpError{Op: "remote error", Err: errors.New(a.Error())}
}

// TestAlerts covers alerts the test brokers cannot be made to send; the
// common ones come from mosquitto itself (TestMosquitto).
func TestAlerts(t *testing.T) {
	ca := testpki.MustNew(t, testpki.CAOptions{CommonName: "Lab Root CA", Organization: "Cleanroom"})
	bridge := ca.MustIssue(t, testpki.Spec{Name: "bridge", Usage: testpki.Client})
	withCert := Target{Addr: "broker.lab:8883", CertFile: bridge.CertFile}
	vars := map[string]string{"cert": bridge.CertFile}
	for _, c := range []struct {
		alert  tls.AlertError
		target Target
		want   string
	}{
		{alertCertificateRevoked, withCert, "The broker says the bridge's client certificate {cert} has been revoked. Issue a new one and point -mqtt-cert-file (MQTT_CERT_FILE) and -mqtt-key-file (MQTT_KEY_FILE) at it."},
		{alertCertificateExpired, withCert, "The broker says the bridge's client certificate {cert} has expired or is not yet valid, though this machine's clock says it is valid. Check the clock of the broker and of this machine."},
		{alertBadCertificate, withCert, "The broker refused the bridge's client certificate {cert} (issued by 'Lab Root CA' (Cleanroom); TLS alert 'bad certificate'). Check that the broker trusts that CA (mosquitto: cafile) and that the certificate is made for a client."},
		{alertProtocolVersion, withCert, "The broker at broker.lab:8883 and the bridge have no TLS version or cipher in common (protocol version not supported). The bridge needs TLS 1.2 or later; check the broker's tls_version setting."},
		{alertHandshakeFailure, withCert, "The broker at broker.lab:8883 ended the TLS handshake with the alert 'handshake failure'. The broker's log says why."},
	} {
		expect(t, Explain(t.Context(), remoteAlert(c.alert), c.target), c.want, vars)
	}
}
