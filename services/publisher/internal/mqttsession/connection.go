package mqttsession

import (
	"log/slog"
	"net/url"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
)

// connectTimeout bounds one connection attempt, TLS handshake included.
const connectTimeout = 10 * time.Second

// checkedURL is the broker's URL, once the settings that no retry can mend
// (the URL and the TLS version) are known to be good: those are
// configuration errors, reported at start, not passing faults.
func (c Config) checkedURL() (*url.URL, error) {
	u, err := c.brokerURL()
	if err != nil {
		return nil, err
	}
	if _, err := c.minVersion(); err != nil {
		return nil, err
	}
	return u, nil
}

// clientConfig is what both connections to the broker at u share (the
// session and the presence connection): keepalive, reconnect backoff,
// login, and the dialer that reads the TLS files at every attempt and
// tells w of every connection.
func (c Config) clientConfig(u *url.URL, log *slog.Logger, w *tlsWatch) autopaho.ClientConfig {
	user, password := c.login()
	return autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     uint16(c.KeepAlive / time.Second),
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              reconnectBackoff(),
		ConnectTimeout:                connectTimeout,
		ConnectUsername:               user,
		ConnectPassword:               []byte(password),
		AttemptConnection:             dialer(c, log, w, connectTimeout),
	}
}

// reconnectBackoff spaces connection attempts from 250 ms up to 5 s apart:
// a broker that comes back is in use again within seconds, and one that
// stays away gets one attempt every few seconds, which it hardly notices.
func reconnectBackoff() autopaho.Backoff {
	return autopaho.NewExponentialBackoff(250*time.Millisecond, 5*time.Second, time.Second, 2)
}
