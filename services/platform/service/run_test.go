package service

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// serving is a service that is ready at once and has nothing to do.
func serving(rt *Runtime) (func(context.Context) error, error) {
	rt.SetServing(true)
	return func(ctx context.Context) error { <-ctx.Done(); return nil }, nil
}

// startService runs Run with o on a free loopback port (unless o names
// one) until the test ends, and returns the gRPC address once it listens.
func startService(t *testing.T, o Options, setup Setup) string {
	t.Helper()
	o.Name, o.LogLevel, o.LogFormat, o.ShutdownTimeout = "test", "error", "text", time.Second
	if o.GRPCAddr == "" {
		o.GRPCAddr = freeAddr(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o, setup) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("Run: %v", err)
		default:
		}
		if c, err := net.Dial("tcp", o.GRPCAddr); err == nil {
			c.Close()
			return o.GRPCAddr
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening after 10 s", o.GRPCAddr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr is a loopback address nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// check asks addr's health service over a new connection with creds.
func check(t *testing.T, addr string, creds credentials.TransportCredentials) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return checkConn(conn)
}

func checkConn(conn *grpc.ClientConn) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

var plainText = insecure.NewCredentials()

// logBuffer is a logger whose lines a test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogBuffer() (*logBuffer, *slog.Logger) {
	b := &logBuffer{}
	return b, slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// A liveness probe asks the "liveness" service: it says SERVING while the
// overall status (readiness) says NOT_SERVING, as a standby publisher's
// does, so that the kubelet does not restart a pod that is only waiting.
func TestLivenessServesWhileNotReady(t *testing.T) {
	addr := startService(t, Options{}, func(rt *Runtime) (func(context.Context) error, error) {
		return func(ctx context.Context) error { <-ctx.Done(); return nil }, nil
	})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(plainText))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ready, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || ready.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("readiness %v, %v; want NOT_SERVING", ready.GetStatus(), err)
	}
	live, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: Liveness})
	if err != nil || live.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("liveness %v, %v; want SERVING", live.GetStatus(), err)
	}
}
