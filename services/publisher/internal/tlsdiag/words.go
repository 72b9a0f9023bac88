package tlsdiag

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
)

// option names a setting the way an admin sets it: the flag and, since
// containers are configured through the environment, its variable.
func option(flagName string) string {
	return "-" + flagName + " (" + envflag.Name(flagName) + ")"
}

// who names a certificate's subject or issuer: its common name, with its
// organisation when it has one, as the admin would find them in a
// certificate viewer.
func who(n pkix.Name) string {
	name := n.CommonName
	org := ""
	if len(n.Organization) > 0 {
		org = n.Organization[0]
	}
	switch {
	case name != "" && org != "":
		return fmt.Sprintf("'%s' (%s)", name, org)
	case name != "":
		return "'" + name + "'"
	case org != "":
		return "'" + org + "'"
	}
	return "'" + n.String() + "'"
}

// hostNames lists what a certificate is valid for: its DNS names and IP
// addresses. Go no longer accepts the common name as a host name.
func hostNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

// list joins items the way a sentence does; a long list is cut short, as a
// wildcard-heavy certificate would otherwise drown the message.
func list(items []string) string {
	const most = 5
	if len(items) > most {
		items = append(items[:most:most], fmt.Sprintf("%d more", len(items)-most))
	}
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// day is a certificate date for people; certificates are made to expire
// on a day, so the hour would only be noise.
func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// moment is a date with the time of day, for clock problems, which are
// often a matter of hours.
func moment(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// port is the port of a host:port, for advice about firewalls and ports.
func port(addr string) string {
	if _, p, err := net.SplitHostPort(addr); err == nil {
		return p
	}
	return addr
}

// sentence makes an error text a sentence, for the errors this package
// passes on as they are: they are already written for people.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, size := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[size:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
