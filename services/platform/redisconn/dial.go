package redisconn

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/rawsock"
)

// keepAlive is go-redis's own dialers' TCP keep-alive: probes after 30 s
// idle, the peer dead after 3 unanswered 5 s apart.
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3}

// defaultDialTimeout is go-redis's, for options that leave it unset.
const defaultDialTimeout = 5 * time.Second

// dialer connects as go-redis's default dialer does (its timeout and
// keep-alive; TLS with tlsCfg when set, the server's name from the
// address when the config has none), over a TCP connection whose reads
// and writes keep clear of the scheduler's system-call hand-off
// (rawsock): every command of the pipeline's hot path is one.
func dialer(timeout time.Duration, tlsCfg *tls.Config) func(context.Context, string, string) (net.Conn, error) {
	if timeout <= 0 {
		timeout = defaultDialTimeout
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c, err := rawsock.Dial(ctx, &net.Dialer{KeepAliveConfig: keepAlive}, network, addr)
		if err != nil || tlsCfg == nil {
			return c, err
		}
		cfg := tlsCfg
		if cfg.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		return tc, nil
	}
}
