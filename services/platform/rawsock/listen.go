package rawsock

import (
	"context"
	"net"
	"time"
)

// Listener accepts connections that read and write with raw system
// calls.
type Listener struct {
	net.Listener
	// UserTimeout, when set, is each connection's TCP_USER_TIMEOUT.
	UserTimeout time.Duration
}

// Accept waits for the next connection.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c = Wrap(c)
	if l.UserTimeout > 0 {
		_ = SetUserTimeout(c, l.UserTimeout)
	}
	return c, nil
}

// Dial connects with d and wraps the connection.
func Dial(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}
