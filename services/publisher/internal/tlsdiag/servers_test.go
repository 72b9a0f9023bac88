package tlsdiag

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// serve runs a TCP listener on a free loopback port and hands each
// connection to handle, on its own goroutine. Everything stops when the
// test ends.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	return ln.Addr().String()
}

// serveTLS is a TLS server that completes the handshake and then hands
// the connection on; a refused handshake ends it.
func serveTLS(t *testing.T, cfg *tls.Config, then func(*tls.Conn)) string {
	t.Helper()
	return serve(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if tc.Handshake() == nil {
			then(tc)
		}
	})
}

// waitForClient reads until the client goes away, as a broker waiting for
// CONNECT does.
func waitForClient(c *tls.Conn) { _, _ = c.Read(make([]byte, 1)) }

// connectError connects as the bridge's session does, with autopaho, and
// returns the error of the first failed attempt.
func connectError(t *testing.T, rawURL string, cfg *tls.Config, user, password string) error {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	outcome := make(chan error, 1)
	cm, err := autopaho.NewConnection(ctx, autopaho.ClientConfig{
		ServerUrls:      []*url.URL{u},
		TlsCfg:          cfg,
		ConnectTimeout:  time.Second,
		ConnectUsername: user,
		ConnectPassword: []byte(password),
		OnConnectError: func(err error) {
			select {
			case outcome <- err:
			default:
			}
		},
		OnConnectionUp: func(*autopaho.ConnectionManager, *paho.Connack) {
			select {
			case outcome <- nil:
			default:
			}
		},
		ClientConfig: paho.ClientConfig{ClientID: "tlsdiag-test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		<-cm.Done()
	}()
	select {
	case err := <-outcome:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no outcome from autopaho within 10s")
		return nil
	}
}

// expect compares a message with the one wanted, in which {name} stands
// for vars[name] and {now} for any time of day.
func expect(t *testing.T, got, want string, vars map[string]string) {
	t.Helper()
	for name, v := range vars {
		want = strings.ReplaceAll(want, "{"+name+"}", v)
	}
	pattern := strings.ReplaceAll(regexp.QuoteMeta(want), `\{now\}`, `\d{4}-\d\d-\d\d \d\d:\d\d UTC`)
	if !regexp.MustCompile("^" + pattern + "$").MatchString(got) {
		t.Errorf("message:\n got: %s\nwant: %s", got, want)
	}
}
