package service

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

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
