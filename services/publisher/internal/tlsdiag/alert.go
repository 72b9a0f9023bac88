package tlsdiag

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// The TLS alerts (RFC 8446, section 6) a broker sends about the handshake
// or the client's certificate.
const (
	alertHandshakeFailure     tls.AlertError = 40
	alertBadCertificate       tls.AlertError = 42
	alertUnsupportedCert      tls.AlertError = 43
	alertCertificateRevoked   tls.AlertError = 44
	alertCertificateExpired   tls.AlertError = 45
	alertCertificateUnknown   tls.AlertError = 46
	alertUnknownCA            tls.AlertError = 48
	alertAccessDenied         tls.AlertError = 49
	alertProtocolVersion      tls.AlertError = 70
	alertInsufficientSecurity tls.AlertError = 71
	alertCertificateRequired  tls.AlertError = 116
)

// alertOf finds the TLS alert the broker sent. crypto/tls reports one as a
// net.OpError "remote error" around its own unexported alert type, whose
// text is that of the tls.AlertError with the same number.
func alertOf(err error) (tls.AlertError, bool) {
	op, ok := errors.AsType[*net.OpError](err)
	if !ok || op.Op != "remote error" {
		return 0, false
	}
	text := op.Err.Error()
	for a := range 256 {
		if tls.AlertError(a).Error() == text {
			return tls.AlertError(a), true
		}
	}
	return 0, false
}

// alertName is an alert's name without Go's "tls: " prefix.
func alertName(a tls.AlertError) string { return strings.TrimPrefix(a.Error(), "tls: ") }

// tlsAlert explains the broker ending the handshake with an alert: most
// often it wants a client certificate, or refuses the one it got.
func tlsAlert(err error, t Target) (string, bool) {
	a, ok := alertOf(err)
	if !ok {
		return "", false
	}
	switch a {
	case alertCertificateRequired:
		if t.CertFile == "" {
			return fmt.Sprintf("The broker at %s requires a client certificate, and the bridge has none. %s", t.Addr, setClientCertificate()), true
		}
		return clientCertificateRefused(a, t), true
	case alertHandshakeFailure:
		// OpenSSL under TLS 1.2 answers a missing client certificate so;
		// with one, the cause could as well be the TLS versions or ciphers.
		if t.CertFile == "" {
			return fmt.Sprintf("The broker at %s refused the TLS handshake, most likely because it requires a client certificate and the bridge has none. %s", t.Addr, setClientCertificate()), true
		}
	case alertBadCertificate, alertUnsupportedCert, alertCertificateRevoked, alertCertificateExpired,
		alertCertificateUnknown, alertUnknownCA, alertAccessDenied:
		return clientCertificateRefused(a, t), true
	case alertProtocolVersion, alertInsufficientSecurity:
		return fmt.Sprintf("The broker at %s and the bridge have no TLS version or cipher in common (%s). The bridge needs TLS 1.2 or later; check the broker's tls_version setting.", t.Addr, alertName(a)), true
	}
	return fmt.Sprintf("The broker at %s ended the TLS handshake with the alert '%s'. The broker's log says why.", t.Addr, alertName(a)), true
}

func setClientCertificate() string {
	return fmt.Sprintf("Set %s and %s to a certificate and key signed by a CA the broker trusts.", option("mqtt-cert-file"), option("mqtt-key-file"))
}

// clientCertificateRefused explains why the broker refused the bridge's
// client certificate, from the alert and from the certificate itself: an
// expired one is the likeliest cause whatever the broker said.
func clientCertificateRefused(a tls.AlertError, t Target) string {
	cert := clientCertificate(t.CertFile)
	if msg, ok := clientCertificateExpired(cert, t); ok {
		return msg
	}
	issuer := issuerOf(cert)
	switch a {
	case alertUnknownCA:
		return fmt.Sprintf("The broker does not trust %s, which issued the bridge's client certificate %s. Add that CA to the broker's trusted CAs (mosquitto: cafile), or use a client certificate signed by a CA the broker trusts.",
			issuer, t.CertFile)
	case alertCertificateRevoked:
		return fmt.Sprintf("The broker says the bridge's client certificate %s has been revoked. Issue a new one and point %s and %s at it.",
			t.CertFile, option("mqtt-cert-file"), option("mqtt-key-file"))
	case alertCertificateExpired:
		return fmt.Sprintf("The broker says the bridge's client certificate %s has expired or is not yet valid, though this machine's clock says it is valid. Check the clock of the broker and of this machine.",
			t.CertFile)
	}
	return fmt.Sprintf("The broker refused the bridge's client certificate %s (issued by %s; TLS alert '%s'). Check that the broker trusts that CA (mosquitto: cafile) and that the certificate is made for a client.",
		t.CertFile, issuer, alertName(a))
}

// clientCertificateExpired says so when the bridge's own certificate is
// out of its dates.
func clientCertificateExpired(cert *x509.Certificate, t Target) (string, bool) {
	now := time.Now()
	switch {
	case cert == nil:
		return "", false
	case now.After(cert.NotAfter):
		return fmt.Sprintf("The bridge's client certificate %s expired on %s, so the broker refuses it. Issue a new one and point %s and %s at it.",
			t.CertFile, day(cert.NotAfter), option("mqtt-cert-file"), option("mqtt-key-file")), true
	case now.Before(cert.NotBefore):
		return fmt.Sprintf("The bridge's client certificate %s is valid only from %s on, and this machine's clock says %s. Check the clock of this machine and of the one that made the certificate.",
			t.CertFile, moment(cert.NotBefore), moment(now)), true
	}
	return "", false
}

// issuerOf names the CA that issued the bridge's client certificate.
func issuerOf(cert *x509.Certificate) string {
	if cert == nil {
		return "the CA"
	}
	return who(cert.Issuer)
}

// clientCertificate reads the bridge's certificate, the first in the file;
// nil when there is none or it cannot be read, which the session reported
// when it started.
func clientCertificate(file string) *x509.Certificate {
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	for {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			return nil
		}
		if block.Type == "CERTIFICATE" {
			cert, _ := x509.ParseCertificate(block.Bytes)
			return cert
		}
	}
}
