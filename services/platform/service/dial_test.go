package service

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// switchedListener is a peer that can be taken down and brought back on
// one address: while down it hangs up every connection at once, as a
// restarting pod's port does, and notes when each attempt came.
type switchedListener struct {
	net.Listener
	mu       sync.Mutex
	down     bool
	open     []net.Conn
	attempts []time.Time
}

func (l *switchedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if !l.down {
			l.open = append(l.open, c)
			l.mu.Unlock()
			return c, nil
		}
		l.attempts = append(l.attempts, time.Now())
		l.mu.Unlock()
		c.Close()
	}
}

// setDown takes the peer down (closing its connections) or brings it back.
func (l *switchedListener) setDown(down bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = down
	if down {
		for _, c := range l.open {
			c.Close()
		}
		l.open = nil
	}
}

func (l *switchedListener) attemptTimes() []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.attempts...)
}

// While a peer is away, DialPeer's connection tries again at least every
// 2 s (plus gRPC's 20% jitter) whatever the outage's length, so it is
// back within about 2 s of the peer, not after gRPC's default backoff
// (which had grown to 18 s after a 60 s outage of the router).
func TestDialPeerIsBackWithinSecondsAfterALongOutage(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis := &switchedListener{Listener: inner}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := (&Runtime{}).DialPeer(inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := checkConn(conn); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A link keeps asking for a stream while the peer is away, which
	// keeps the connection trying (it goes idle otherwise); Connect does
	// the same here.
	go func() {
		for s := conn.GetState(); ctx.Err() == nil; s = conn.GetState() {
			if s == connectivity.Idle {
				conn.Connect()
			}
			conn.WaitForStateChange(ctx, s)
		}
	}()
	down := time.Now()
	lis.setDown(true)
	// The waits grow 0.1 s, 0.16 s, ... and reach the cap after about
	// 4.5 s; with gRPC's default (1 s, 1.6 s, 2.6 s, 4.1 s, ...) there
	// would have been no attempt for almost 4 s by the end.
	time.Sleep(9 * time.Second)
	if s := conn.GetState(); s == connectivity.Ready {
		t.Fatalf("connection %v while the peer is away", s)
	}
	attempts := lis.attemptTimes()
	if len(attempts) == 0 {
		t.Fatal("no attempt to reconnect during the outage")
	}
	const maxGap = 2*time.Second*12/10 + 300*time.Millisecond // cap, jitter, scheduling
	prev := down
	for i, at := range append(attempts, time.Now()) {
		if gap := at.Sub(prev); gap > maxGap {
			t.Errorf("no attempt to reconnect for %v (up to attempt %d of %d, or the end of the outage), want at most %v",
				gap.Round(time.Millisecond), i+1, len(attempts), maxGap)
		}
		prev = at
	}

	lis.setDown(false)
	back := time.Now()
	wait, cancelWait := context.WithTimeout(ctx, 10*time.Second)
	defer cancelWait()
	for s := conn.GetState(); s != connectivity.Ready; s = conn.GetState() {
		if !conn.WaitForStateChange(wait, s) {
			t.Fatalf("not connected again 10 s after the peer came back (state %v)", s)
		}
	}
	took := time.Since(back)
	t.Logf("%d attempts during a %v outage; connected again %v after the peer came back", len(attempts), back.Sub(down).Round(time.Millisecond), took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("connected again only %v after the peer came back, want within 3 s", took)
	}
}
