package service

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
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

// A panic below the platform's interceptor (in a service's own
// interceptor here, as in a handler) is answered INTERNAL, the service
// goes on, and every call is counted with the code its caller got.
func TestPanicIsAnsweredInternalAndCallsAreCounted(t *testing.T) {
	var calls atomic.Int32
	own := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		switch calls.Add(1) {
		case 1:
			panic("a bug")
		case 2:
			return nil, status.Error(codes.Unauthenticated, "no token")
		}
		return handler(ctx, req)
	}
	var reg *prometheus.Registry
	addr := startService(t, Options{Interceptors: Interceptors{Unary: []grpc.UnaryServerInterceptor{own}}},
		func(rt *Runtime) (func(context.Context) error, error) {
			reg = rt.Metrics
			return serving(rt)
		})
	for _, want := range []codes.Code{codes.Internal, codes.Unauthenticated, codes.OK} {
		if err := check(t, addr, plainText); status.Code(err) != want {
			t.Errorf("call %d: %v, want %v", calls.Load(), err, want)
		}
	}
	const method = "/grpc.health.v1.Health/Check"
	for _, code := range []string{"Internal", "Unauthenticated", "OK"} {
		if n := sample(t, reg, "nemo_grpc_server_handled_total", method, code); n != 1 {
			t.Errorf("nemo_grpc_server_handled_total{method=%q,code=%q} = %v, want 1", method, code, n)
		}
		if n := sample(t, reg, "nemo_grpc_server_handling_seconds", method, code); n != 1 {
			t.Errorf("nemo_grpc_server_handling_seconds{method=%q,code=%q} has %v samples, want 1", method, code, n)
		}
	}
}

// The log has a panic with its stack, a failure of the service at warn,
// and the rest at debug, each with method, code and duration.
func TestCallsAreLoggedByWhatTheyMean(t *testing.T) {
	logs, log := newLogBuffer()
	obs := newObserver(log.With("service", "test"), prometheus.NewRegistry())
	info := &grpc.UnaryServerInfo{FullMethod: "/nemo.test.v1.Test/Do"}
	for _, c := range []struct {
		handler grpc.UnaryHandler
		code    codes.Code
		line    string
	}{
		{func(context.Context, any) (any, error) { panic("index out of range") },
			codes.Internal, `level=ERROR msg="gRPC handler panicked; answered INTERNAL" service=test method=/nemo.test.v1.Test/Do panic="index out of range" stack="goroutine`},
		{func(context.Context, any) (any, error) { return nil, errors.New("redis: connection refused") },
			codes.Unknown, `level=WARN msg="gRPC call" service=test method=/nemo.test.v1.Test/Do code=Unknown duration=`},
		{func(context.Context, any) (any, error) { return nil, status.Error(codes.NotFound, "no tool 7") },
			codes.NotFound, `level=DEBUG msg="gRPC call" service=test method=/nemo.test.v1.Test/Do code=NotFound duration=`},
		{func(context.Context, any) (any, error) { return nil, context.Canceled },
			codes.Canceled, `level=DEBUG msg="gRPC call" service=test method=/nemo.test.v1.Test/Do code=Canceled duration=`},
		{func(context.Context, any) (any, error) { return "ok", nil },
			codes.OK, `level=DEBUG msg="gRPC call" service=test method=/nemo.test.v1.Test/Do code=OK duration=`},
	} {
		_, err := obs.unary(context.Background(), nil, info, c.handler)
		if answered(err).Code() != c.code {
			t.Errorf("answered %v, want %v", err, c.code)
		}
		if !strings.Contains(logs.String(), c.line) {
			t.Errorf("the log has no line like %s:\n%s", c.line, logs)
		}
	}
	err := obs.stream(nil, nil, &grpc.StreamServerInfo{FullMethod: "/nemo.test.v1.Test/Stream"},
		func(any, grpc.ServerStream) error { panic("nil map") })
	if status.Code(err) != codes.Internal || strings.Contains(status.Convert(err).Message(), "nil map") {
		t.Errorf("a stream that panicked answered %v, want INTERNAL without the panic's words", err)
	}
}

// sample is a counter's value, or a histogram's sample count.
func sample(t *testing.T, reg *prometheus.Registry, name, method, code string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["method"] == method && labels["code"] == code {
				if h := m.GetHistogram(); h != nil {
					return float64(h.GetSampleCount())
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// A service's server of its own (the gateway's in-process one) gets the
// same chain as GRPC: the platform's observer first, which recovers and
// counts, then the service's interceptors.
func TestRuntimeGivesTheWholeChain(t *testing.T) {
	var own atomic.Int32
	mine := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		own.Add(1)
		return handler(ctx, req)
	}
	// The runtime comes over a channel: setup runs on Run's goroutine.
	runtimes := make(chan *Runtime, 1)
	startService(t, Options{Interceptors: Interceptors{Unary: []grpc.UnaryServerInterceptor{mine}}},
		func(r *Runtime) (func(context.Context) error, error) {
			runtimes <- r
			return serving(r)
		})
	rt := <-runtimes
	chain := rt.Interceptors()
	if len(chain.Unary) != 2 || len(chain.Stream) != 1 {
		t.Fatalf("%d unary and %d stream interceptors, want the observer and the service's one, and the observer", len(chain.Unary), len(chain.Stream))
	}
	const method = "/nemo.test.v1.Test/Do"
	info := &grpc.UnaryServerInfo{FullMethod: method}
	_, err := chain.Unary[0](context.Background(), nil, info, func(ctx context.Context, req any) (any, error) {
		return chain.Unary[1](ctx, req, info, func(context.Context, any) (any, error) { panic("a bug") })
	})
	if status.Code(err) != codes.Internal || own.Load() != 1 {
		t.Fatalf("a panic below the chain: %v (own interceptor ran %d times), want INTERNAL after the service's own", err, own.Load())
	}
	if n := sample(t, rt.Metrics, "nemo_grpc_server_handled_total", method, "Internal"); n != 1 {
		t.Errorf("the call is counted %v times, want once", n)
	}
}
