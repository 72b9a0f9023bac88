package mqttsession

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/packets"

	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/tlsdiag"
)

// Certificates are renewed while the bridge runs: cert-manager or an admin
// replaces the files of a Kubernetes secret (by swapping its ..data
// symlink), usually well before the old ones expire. The dialer reads the
// files at every connection attempt; the watch here (tlsWatch) makes a
// connection that is up (the session's, and the presence connection's)
// reconnect when they change, so that the renewed certificate is in use
// within seconds, not only at the next outage, which might come after the
// old certificate expired.
//
// Nothing is lost by the reconnect: the session is persistent (the broker
// keeps it across the reconnect) and the pipeline sends again every publish
// the broker did not acknowledge.

// liveConn is the connection the dialer made last.
type liveConn struct {
	mu    sync.Mutex
	conn  net.Conn             // nil once retired
	state *tls.ConnectionState // nil for mqtt://
	files [sha256.Size]byte    // sum of the TLS files it was made with
	to    broker               // the broker it is to
}

func (l *liveConn) set(conn net.Conn, state *tls.ConnectionState, files tlsFiles, to broker) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conn, l.state, l.files, l.to = conn, state, files.sum(), to
}

func (l *liveConn) get() (net.Conn, *tls.ConnectionState, [sha256.Size]byte, broker) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conn, l.state, l.files, l.to
}

// retire forgets conn, if it is still the live one, and reports whether it
// was: the watcher acts on one connection once.
func (l *liveConn) retire(conn net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != conn {
		return false
	}
	l.conn, l.state = nil, nil
	return true
}

// tlsWatch makes one connection reconnect when its TLS files are renewed:
// the session's, and the presence connection's.
type tlsWatch struct {
	cfg Config
	log *slog.Logger
	// connected reports whether the connection is up.
	connected func() bool
	// live is the connection its dialer made last.
	live liveConn
}

func newTLSWatch(c Config, log *slog.Logger, connected func() bool) *tlsWatch {
	return &tlsWatch{cfg: c, log: log, connected: connected}
}

// serverName is the name the certificate of broker b was checked for:
// -mqtt-server-name, else the host of b's URL.
func (w *tlsWatch) serverName(b broker) string {
	if w.cfg.ServerName != "" {
		return w.cfg.ServerName
	}
	return b.url.Hostname()
}

// start checks the TLS files every -mqtt-tls-reload-interval until ctx
// ends, for TLS connections with files to watch (when any of the brokers
// of l is dialled with TLS: the check skips a plain connection).
func (w *tlsWatch) start(ctx context.Context, l *brokerList) {
	if l.anyTLS() && w.cfg.TLSReloadInterval > 0 && (w.cfg.CAFile != "" || w.cfg.CertFile != "") {
		go w.run(ctx, w.cfg.TLSReloadInterval)
	}
}

func (w *tlsWatch) run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	reported := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		reported = w.check(reported)
	}
}

// check compares the TLS files with those the connection was made with.
// When they changed and make a usable TLS configuration, it ends the
// connection so that autopaho reconnects with them; when they changed but
// cannot be used (written halfway, a key that is not the certificate's),
// it says why and keeps the connection, to look again at the next check.
// reported is the problem last logged, so that one problem is logged once;
// check returns the problem now.
func (w *tlsWatch) check(reported string) string {
	conn, state, used, to := w.live.get()
	if conn == nil || !w.connected() || state == nil {
		return "" // the next connection attempt reads the files anyway; a plain connection uses none
	}
	files, err := w.cfg.readTLSFiles()
	if err == nil {
		if files.sum() == used {
			return ""
		}
		err = w.usable(files, state, to)
	}
	if err != nil {
		problem := tlsdiag.Explain(context.Background(), err, tlsdiag.Target{CAFile: w.cfg.CAFile, CertFile: w.cfg.CertFile, KeyFile: w.cfg.KeyFile})
		if problem != reported {
			w.log.Warn("TLS files changed, but the new ones cannot be used; keeping the current connection and checking again",
				"broker", to.logged(), "problem", problem, "every", w.cfg.TLSReloadInterval)
		}
		return problem
	}
	if !w.live.retire(conn) {
		return "" // a new connection came meanwhile, with the files as they are now or later
	}
	w.log.Info("TLS files changed; reconnecting to use them", "broker", to.logged(),
		"ca_file", w.cfg.CAFile, "cert_file", w.cfg.CertFile, "key_file", w.cfg.KeyFile)
	hangUp(conn, time.Second)
	return ""
}

// usable checks the new files as far as can be known without connecting:
// they make a TLS configuration, the client certificate is within its
// dates, and the CA still vouches for the broker's current certificate.
// A reconnect that those checks show would fail would trade a working
// connection for an outage.
func (w *tlsWatch) usable(files tlsFiles, state *tls.ConnectionState, to broker) error {
	cfg, err := w.cfg.tlsConfigFrom(files)
	if err != nil {
		return err
	}
	now := time.Now()
	if len(cfg.Certificates) > 0 && cfg.Certificates[0].Leaf != nil {
		leaf := cfg.Certificates[0].Leaf
		switch {
		case now.After(leaf.NotAfter):
			return fmt.Errorf("the new client certificate %s expired on %s", w.cfg.CertFile, leaf.NotAfter.UTC().Format("2006-01-02"))
		case now.Before(leaf.NotBefore):
			return fmt.Errorf("the new client certificate %s is valid only from %s on, and this machine's clock says %s",
				w.cfg.CertFile, leaf.NotBefore.UTC().Format("2006-01-02 15:04 UTC"), now.UTC().Format("2006-01-02 15:04 UTC"))
		}
	}
	if w.cfg.CAFile != "" && !cfg.InsecureSkipVerify && state != nil && len(state.PeerCertificates) > 0 {
		broker := state.PeerCertificates[0]
		intermediates := x509.NewCertPool()
		for _, c := range state.PeerCertificates[1:] {
			intermediates.AddCert(c)
		}
		if _, err := broker.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, Intermediates: intermediates, DNSName: w.serverName(to)}); err != nil {
			return fmt.Errorf("the new CA file %s does not vouch for the broker's certificate (issued by %s), so the broker would be refused at the reconnect: %v",
				w.cfg.CAFile, broker.Issuer.CommonName, err)
		}
	}
	return nil
}

// hangUp ends a connection the way a client leaving on purpose does: an
// MQTT DISCONNECT with reason 0 first, so that the broker keeps the
// session and does not publish the last will (the retained status would
// say "offline" for a moment), then the close, at the latest after grace
// if the broker has not closed it by then. autopaho sees the connection
// go down and reconnects at once.
func hangUp(conn net.Conn, grace time.Duration) {
	_ = conn.SetWriteDeadline(time.Now().Add(grace))
	// The connection is a packets.NewThreadSafeConn (only TLS connections
	// are watched): WriteTo takes its lock, as paho's writes do, so the
	// DISCONNECT is not interleaved with a packet paho is writing.
	_, _ = packets.NewControlPacket(packets.DISCONNECT).WriteTo(conn)
	time.AfterFunc(grace, func() { _ = conn.Close() })
}
