package mqttsession

import (
	"log/slog"
	"net/url"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// connectTimeout bounds one connection attempt, TLS handshake included.
const connectTimeout = 10 * time.Second

// checkedBrokers are the brokers of -mqtt-url, once the settings that no
// retry can mend (the URLs and the TLS version) are known to be good:
// those are configuration errors, reported at start, not passing faults.
func (c Config) checkedBrokers() (*brokerList, error) {
	bs, err := c.brokers()
	if err != nil {
		return nil, err
	}
	if _, err := c.minVersion(); err != nil {
		return nil, err
	}
	return newBrokerList(bs), nil
}

// clientConfig is what both connections to the brokers of l share (the
// session and the presence connection): keepalive, reconnect backoff, the
// login of each broker, and the dialer that reads the TLS files at every
// attempt and tells w of every connection. autopaho tries the brokers in
// order at each attempt, and builds the CONNECT packet for one before
// dialling it: that is where l learns which broker is being tried.
// acks, for the session's connection, is given the broker's PUBACKs (see
// ackConn); nil leaves them to paho.
func (c Config) clientConfig(l *brokerList, log *slog.Logger, w *tlsWatch, acks answerTaker) autopaho.ClientConfig {
	return autopaho.ClientConfig{
		ServerUrls:                    l.urls(),
		KeepAlive:                     uint16(c.KeepAlive / time.Second),
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              reconnectBackoff(),
		ConnectTimeout:                connectTimeout,
		ConnectPacketBuilder: func(cp *paho.Connect, u *url.URL) (*paho.Connect, error) {
			user, password := c.login(l.trying(u))
			cp.Username, cp.UsernameFlag = user, user != ""
			cp.Password, cp.PasswordFlag = nil, password != ""
			if password != "" {
				cp.Password = []byte(password)
			}
			return cp, nil
		},
		AttemptConnection: dialer(c, l, log, w, connectTimeout, acks),
	}
}

// reconnectBackoff spaces connection attempts from 250 ms up to 5 s apart:
// a broker that comes back is in use again within seconds, and one that
// stays away gets one attempt every few seconds, which it hardly notices.
// With several brokers, each attempt tries them all, in order.
func reconnectBackoff() autopaho.Backoff {
	return autopaho.NewExponentialBackoff(250*time.Millisecond, 5*time.Second, time.Second, 2)
}
