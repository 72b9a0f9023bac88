package mqttsession

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/packets"
)

// dialer connects to the broker itself rather than through autopaho's
// default, to answer every packet from the broker with an immediate TCP
// ACK (see quickAckConn). Without it, a broker that leaves Nagle's
// algorithm on (mosquitto's default, set_tcp_nodelay false) holds each
// PUBACK until our delayed ACK of the previous one, up to 40 ms: measured
// here, the pipeline drained 1,800 events/s instead of 6,000.
//
// It reads the TLS files at every attempt, and remembers the connection it
// made and which files it used, so that the TLS file watcher (reload.go)
// can tell when they are renewed and end the connection to use them: w
// learns of every connection it makes, and to which of the brokers of l.
// Both connections to the broker, the session and the presence
// connection, dial with it; the session's hands the broker's answers to
// its messages to acks (see ackConn), the presence connection's acks is
// nil.
func dialer(c Config, l *brokerList, log *slog.Logger, w *tlsWatch, timeout time.Duration, acks answerTaker) func(context.Context, autopaho.ClientConfig, *url.URL) (net.Conn, error) {
	return func(ctx context.Context, _ autopaho.ClientConfig, u *url.URL) (net.Conn, error) {
		b := l.all[l.find(u)]
		var tlsCfg *tls.Config
		var files tlsFiles
		if u.Scheme == "tls" {
			var err error
			if files, err = c.readTLSFiles(); err != nil {
				return nil, err
			}
			if tlsCfg, err = c.tlsConfigFrom(files); err != nil {
				return nil, err
			}
			if tlsCfg.InsecureSkipVerify {
				log.Warn("NOT CHECKING THE BROKER'S CERTIFICATE (-mqtt-insecure-skip-verify): anyone on the network path can read and forge the bridge's messages; use it for tests only", "broker", b.logged())
			}
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var d net.Dialer
		raw, err := d.DialContext(ctx, "tcp", u.Host)
		if err != nil {
			return nil, err
		}
		conn := quickAck(raw, gatherer(acks, pauseForAnswers))
		if u.Scheme != "tls" {
			conn = takeAcks(conn, acks)
			w.live.set(conn, nil, files, b)
			return conn, nil
		}
		cfg := tlsCfg
		if cfg.ServerName == "" { // what tls.Dialer would do: check the host of this broker's URL
			cfg = tlsCfg.Clone()
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		// tls.Conn writes are not safe for concurrent use; paho writes
		// from several goroutines.
		safe := packets.NewThreadSafeConn(takeAcks(tc, acks))
		state := tc.ConnectionState()
		w.live.set(safe, &state, files, b)
		return safe, nil
	}
}
