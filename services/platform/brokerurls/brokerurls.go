// Package brokerurls reads a list of MQTT broker URLs the way the
// publisher's -mqtt-url takes it, for everything that shows or uses it.
package brokerurls

import (
	"strings"
	"unicode"
)

// Split cuts a list of broker URLs (the publisher's -mqtt-url) into its
// URLs. They are separated by whitespace, or by a comma where what
// follows it (whitespace and further commas aside) begins with a scheme
// ("mqtts://") or is the end of the value. A password may hold commas, so a comma alone does not separate:
// but neither whitespace nor "://" can be in a valid URL's login (a URL
// writes them %20 and %3A%2F%2F; secret.ParseURL refuses them as they
// are), so no cut falls inside the login of a valid URL.
func Split(raw string) []string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == ',' {
			rest := strings.TrimLeftFunc(raw[i+1:], func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
			if rest == "" || startsWithScheme(rest) {
				b.WriteByte(' ')
				continue
			}
		}
		b.WriteByte(raw[i])
	}
	return strings.Fields(b.String())
}

// startsWithScheme reports whether s begins with a URL scheme and "://"
// (RFC 3986: a letter, then letters, digits, "+", "-" or "."). Any scheme
// counts, not only those the bridge dials, so that "mqtt://a,http://b"
// is refused as a second URL of an unsupported scheme rather than read as
// one URL whose host is "a,http".
func startsWithScheme(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		case i > 0 && r == ':':
			return strings.HasPrefix(s[i:], "://")
		default:
			return false
		}
	}
	return false
}
