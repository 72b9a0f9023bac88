package mqttsession

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/brokerurls"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/secret"
)

// A broker cluster without a load balancer in front of it (EMQX, HiveMQ,
// bridged mosquitto) has several addresses: -mqtt-url takes them all, and
// autopaho tries them in the order given at every connection attempt,
// moving on to the next one when one fails (its ServerUrls). Everything
// that depends on the broker (the TLS server name, the login, the words
// explaining a failure, the logs, the health answer) follows the broker of
// the attempt.

// broker is one of the URLs of -mqtt-url.
type broker struct {
	// url is what autopaho dials: scheme mqtt or tls, port set, and no
	// user name or password (autopaho writes the URL it dials into its
	// errors, which are logged; login gives them to the CONNECT packet).
	url *url.URL
	// shown is the URL as configured, its password as xxxxx, for health
	// and logs.
	shown string
	// user and password are the login written in the URL, if any.
	user, password string
}

// logged is how logs name b: the URL dialled, which holds no login, as the
// logs have always named the broker.
func (b broker) logged() string { return b.url.String() }

// brokers parses -mqtt-url: its URLs in order. An error names the URL at
// fault by its position when there are several, and never quotes a URL
// (its password); a single URL is refused in the same words as always.
func (c Config) brokers() ([]broker, error) {
	pieces := brokerurls.Split(c.URL)
	if len(pieces) == 0 {
		pieces = []string{c.URL} // empty: refused below, as before
	}
	out := make([]broker, 0, len(pieces))
	for i, raw := range pieces {
		b, err := parseBroker(raw)
		if err != nil {
			if len(pieces) == 1 {
				return nil, err.single()
			}
			return nil, err.among(i, len(pieces))
		}
		out = append(out, b)
	}
	return out, nil
}

// urlError is why one URL of -mqtt-url is not a broker URL.
type urlError struct {
	// scheme is the unsupported scheme, when that is the fault; shown is
	// then the URL with its password as xxxxx.
	scheme, shown string
	// err is why the URL does not parse otherwise; it quotes no login of
	// a whole URL (but see among).
	err error
}

const brokerURLForm = "mqtt://[user[:password]@]host[:port] or mqtts://…"

func (e *urlError) single() error {
	if e.err != nil {
		return fmt.Errorf("-mqtt-url is not a broker URL (%s): %w", brokerURLForm, e.err)
	}
	return fmt.Errorf("-mqtt-url %s: scheme %q is not supported, use mqtt:// or mqtts://", e.shown, e.scheme)
}

// among words the error of the URL at index i of n. It names the URL by
// its position only, and quotes no part of it: cut where the value had a
// space, "mqtts://bridge:pa ss@host" gives the URL "mqtts://bridge:pa",
// whose "port" url.Parse would quote, and that is part of the password.
func (e *urlError) among(i, n int) error {
	which := fmt.Sprintf("-mqtt-url: its %s URL (of %d)", ordinal(i+1), n)
	if e.err != nil {
		return fmt.Errorf("%s is not a broker URL (%s; several URLs are separated by whitespace, or by a comma before the next mqtt:// or mqtts://, and a space in a password is written %%20): %s",
			which, brokerURLForm, quoted.ReplaceAllString(e.err.Error(), "(…)"))
	}
	return fmt.Errorf("%s: its scheme is not supported, use mqtt:// or mqtts://", which)
}

// quoted matches what an error quotes (Go's %q).
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// parseBroker parses one broker URL and maps the schemes people write
// (mqtt, mqtts, tcp, ssl, tls) onto the two autopaho dials.
func parseBroker(raw string) (broker, *urlError) {
	u, err := secret.ParseURL(raw)
	if err != nil {
		return broker{}, &urlError{err: err}
	}
	b := broker{shown: u.Redacted()}
	if u.User != nil {
		b.user = u.User.Username()
		b.password, _ = u.User.Password()
	}
	d := *u
	d.User = nil
	switch d.Scheme {
	case "mqtt", "tcp":
		d.Scheme = "mqtt"
	case "mqtts", "ssl", "tls":
		d.Scheme = "tls"
	default:
		return broker{}, &urlError{scheme: d.Scheme, shown: b.shown}
	}
	if d.Port() == "" {
		port := "1883"
		if d.Scheme == "tls" {
			port = "8883"
		}
		d.Host = d.Hostname() + ":" + port
	}
	b.url = &d
	return b, nil
}

// ordinal writes n as 1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st.
func ordinal(n int) string {
	suffix := "th"
	switch n % 10 {
	case 1:
		suffix = "st"
	case 2:
		suffix = "nd"
	case 3:
		suffix = "rd"
	}
	if n%100 >= 11 && n%100 <= 13 {
		suffix = "th"
	}
	return fmt.Sprint(n) + suffix
}

// Broker is the brokers as configured, for health and logs: a password in
// them shows as xxxxx. Several are separated by ", ".
func (c Config) Broker() string {
	bs, err := c.brokers()
	if err != nil {
		return ""
	}
	shown := make([]string, len(bs))
	for i, b := range bs {
		shown[i] = b.shown
	}
	return strings.Join(shown, ", ")
}

// login is the user name and password of the CONNECT packet to b: each is
// the flag's (-mqtt-username; -mqtt-password or its file) when given, for
// every broker, else the one in b's URL, so that mqtt://bridge@host takes
// its password from -mqtt-password-file, and mqtt://bridge:pw@host works
// alone.
func (c Config) login(b broker) (user, password string) {
	user, password = c.Username, c.Password
	if user == "" {
		user = b.user
	}
	if password == "" {
		password = b.password
	}
	return user, password
}

// brokerList is the brokers of one connection (the session's, or the
// presence connection's), and which of them it tried last: the one it is
// connected to while it is up. autopaho tries them one after the other on
// one goroutine, building the CONNECT packet for each first (see
// clientConfig), so the broker tried last is the one its callbacks
// (OnConnectError, OnConnectionUp) are about.
type brokerList struct {
	all []broker

	mu  sync.Mutex
	now int
}

func newBrokerList(all []broker) *brokerList { return &brokerList{all: all} }

// urls are the URLs autopaho dials, in order.
func (l *brokerList) urls() []*url.URL {
	out := make([]*url.URL, len(l.all))
	for i, b := range l.all {
		out[i] = b.url
	}
	return out
}

// find returns the index of the broker of u, one of urls (autopaho passes
// them on as they are).
func (l *brokerList) find(u *url.URL) int {
	for i, b := range l.all {
		if b.url == u {
			return i
		}
	}
	for i, b := range l.all {
		if b.url.String() == u.String() {
			return i
		}
	}
	return 0
}

// trying records that the broker of u is being tried, and returns it.
func (l *brokerList) trying(u *url.URL) broker {
	i := l.find(u)
	l.mu.Lock()
	l.now = i
	l.mu.Unlock()
	return l.all[i]
}

// current is the broker tried last, and its index.
func (l *brokerList) current() (broker, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all[l.now], l.now
}

// anyTLS reports whether any of the brokers is dialled with TLS.
func (l *brokerList) anyTLS() bool {
	for _, b := range l.all {
		if b.url.Scheme == "tls" {
			return true
		}
	}
	return false
}
