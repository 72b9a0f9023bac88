package tlsdiag

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// serverCertificate explains why the bridge did not accept the broker's
// certificate. Go's errors carry the certificates themselves, so the
// message can name the issuer, the names and the dates without another
// connection.
func serverCertificate(err error, t Target) (string, bool) {
	v, ok := errors.AsType[*tls.CertificateVerificationError](err)
	if !ok || len(v.UnverifiedCertificates) == 0 {
		return "", false
	}
	chain := v.UnverifiedCertificates
	if _, ok := errors.AsType[x509.UnknownAuthorityError](v.Err); ok {
		return unknownAuthority(chain, t), true
	}
	if h, ok := errors.AsType[x509.HostnameError](v.Err); ok {
		return wrongName(h, t), true
	}
	if inv, ok := errors.AsType[x509.CertificateInvalidError](v.Err); ok {
		return invalidCertificate(inv, chain[0], t), true
	}
	return fmt.Sprintf("The bridge does not accept the broker's certificate (issued by %s): %v.", who(chain[0].Issuer), v.Err), true
}

// unknownAuthority names the authority at the top of the chain the broker
// sent: that is the certificate -mqtt-ca-file must hold, even when the
// broker also sends intermediates.
func unknownAuthority(chain []*x509.Certificate, t Target) string {
	top := chain[len(chain)-1]
	issuer := who(top.Issuer)
	switch {
	case t.CAFile == "":
		return fmt.Sprintf("The broker's certificate was issued by %s, which is not among the system's trusted authorities. Set %s to the CA that signed the broker's certificate.",
			issuer, option("mqtt-ca-file"))
	case holdsSubject(t.CAFile, top.RawIssuer):
		// A CA made anew under the old name: the admin would otherwise
		// find the name in the file and not believe the message.
		return fmt.Sprintf("The broker's certificate was issued by %s, but not by the %s in the CA file %s: they are two different CAs with the same name (was the CA made anew?). Point %s at the CA that really signed the broker's certificate.",
			issuer, issuer, t.CAFile, option("mqtt-ca-file"))
	}
	return fmt.Sprintf("The broker's certificate was issued by %s, which the CA file %s does not contain. Point %s at the CA that signed the broker's certificate.",
		issuer, t.CAFile, option("mqtt-ca-file"))
}

// holdsSubject reports whether the PEM file holds a certificate with that
// subject.
func holdsSubject(file string, subject []byte) bool {
	rest, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return false
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil && bytes.Equal(c.RawSubject, subject) {
			return true
		}
	}
}

// wrongName compares the names the certificate carries with the one the
// bridge checked: the -mqtt-server-name override, or else the URL's host.
func wrongName(h x509.HostnameError, t Target) string {
	names := hostNames(h.Certificate)
	switch {
	case len(names) == 0:
		return fmt.Sprintf("The broker's certificate names no host the way TLS requires today: it has only the subject %s and no subject alternative names. Give the broker a certificate with %s as a subject alternative name.",
			who(h.Certificate.Subject), h.Host)
	case t.TLS != nil && t.TLS.ServerName != "":
		return fmt.Sprintf("The broker's certificate is for %s, but %s expects '%s'. Set %s to one of the certificate's names, or leave it empty to check the host of %s.",
			list(names), option("mqtt-server-name"), h.Host, option("mqtt-server-name"), option("mqtt-url"))
	}
	return fmt.Sprintf("The broker's certificate is for %s, not for %s, the host in %s. Use one of the certificate's names as that host, or set %s to one of them.",
		list(names), h.Host, option("mqtt-url"), option("mqtt-server-name"))
}

// invalidCertificate explains a certificate that is out of its dates or
// not made for a server. The certificate at fault may be the CA's rather
// than the broker's own.
func invalidCertificate(e x509.CertificateInvalidError, leaf *x509.Certificate, t Target) string {
	isLeaf := e.Cert.Equal(leaf)
	whose := "The broker's certificate"
	if !isLeaf {
		whose = "The CA certificate " + who(e.Cert.Subject)
		if t.CAFile != "" {
			whose += " in " + t.CAFile
		}
	}
	now := time.Now()
	switch {
	case e.Reason == x509.Expired && now.Before(e.Cert.NotBefore):
		return fmt.Sprintf("%s is valid only from %s on, and this machine's clock says %s. Check the clock of this machine and of the one that made the certificate.",
			whose, moment(e.Cert.NotBefore), moment(now))
	case e.Reason == x509.Expired && isLeaf:
		return fmt.Sprintf("%s expired on %s. Give the broker a renewed certificate (mosquitto: certfile); if that date looks wrong, check this machine's clock.",
			whose, day(e.Cert.NotAfter))
	case e.Reason == x509.Expired:
		return fmt.Sprintf("%s expired on %s. Renew the CA and the broker's certificate, and point %s at the new CA; if that date looks wrong, check this machine's clock.",
			whose, day(e.Cert.NotAfter), option("mqtt-ca-file"))
	case e.Reason == x509.IncompatibleUsage:
		return fmt.Sprintf("%s is not made for a server: its extended key usage lacks TLS server authentication. Give the broker a server certificate.", whose)
	}
	return fmt.Sprintf("The bridge does not accept the broker's certificate: %v.", e)
}
