package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/rawsock"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/grpcbuffers"
)

// buffers is every gRPC connection's buffer pool, servers and clients
// alike, and the default one that gRPC's codec encodes in (which gRPC
// lets a program set only while it initialises).
var buffers = grpcbuffers.New()

func init() { experimental.SetDefaultBufferPool(buffers) }

// transport is how a service's gRPC connections are secured, listening
// and dialling alike: mutual TLS with the -grpc-tls-* files (the
// production setting), else plain text, which stays on this machine
// unless -grpc-insecure says otherwise. Plain text beyond loopback would
// let anyone who reaches a port read the lab's events and send the
// pipeline their own, so it takes an explicit flag, not a forgotten one.
type transport struct {
	tls      *tlsSource // nil: plain text
	insecure bool       // plain text also beyond loopback
}

// newTransport reads the TLS files or checks that plain text is allowed
// on o.GRPCAddr, and says in the log which it is.
func newTransport(o Options, log *slog.Logger) (transport, error) {
	if !o.TLS.any() {
		switch {
		case isLoopback(o.GRPCAddr):
			log.Warn("gRPC without TLS: only programs on this machine can connect; set -grpc-tls-cert, -grpc-tls-key and -grpc-tls-ca to listen beyond it",
				"addr", o.GRPCAddr)
		case o.Insecure:
			log.Warn("INSECURE: gRPC WITHOUT TLS beyond this machine (-grpc-insecure): anyone who reaches this port can read the events and send the service their own; use it only on a network encrypted and closed by other means",
				"addr", o.GRPCAddr)
		default:
			return transport{}, fmt.Errorf("gRPC on %s is beyond this machine and has no TLS: set -grpc-tls-cert, -grpc-tls-key and -grpc-tls-ca (mutual TLS, the production setting), listen on loopback (-grpc-addr 127.0.0.1:PORT), or accept plain text with -grpc-insecure", o.GRPCAddr)
		}
		return transport{insecure: o.Insecure}, nil
	}
	if o.Insecure {
		return transport{}, errors.New("-grpc-insecure and the -grpc-tls-* files are both set: choose TLS or plain text")
	}
	if err := o.TLS.complete(); err != nil {
		return transport{}, err
	}
	clientAuth, mode := tls.RequireAndVerifyClientCert, "mutual TLS: clients need a certificate of the CA"
	if o.PublicAPI {
		clientAuth, mode = tls.NoClientCert, "TLS: clients need no certificate (a public API, which authenticates them otherwise)"
	}
	src, err := newTLSSource(o.TLS, clientAuth, log)
	if err != nil {
		return transport{}, fmt.Errorf("gRPC TLS: %w", err)
	}
	leaf := src.last().leaf
	log.Info("gRPC with "+mode, "cert_file", o.TLS.Cert, "subject", leaf.Subject.String(),
		"expires", leaf.NotAfter.UTC().Format("2006-01-02"), "ca_file", o.TLS.CA)
	return transport{tls: src}, nil
}

func (t transport) serverCredentials() credentials.TransportCredentials {
	if t.tls == nil {
		return insecure.NewCredentials()
	}
	return reloadingCreds{src: t.tls, server: true}
}

// dialCredentials secure a connection to addr: this service's certificate
// and the CA, or plain text to a peer on this machine (or anywhere with
// -grpc-insecure).
func (t transport) dialCredentials(addr string) (credentials.TransportCredentials, error) {
	if t.tls != nil {
		if cert := t.tls.last().leaf; !allowsUsage(cert, x509.ExtKeyUsageClientAuth) {
			return nil, fmt.Errorf("cannot call %s: -grpc-tls-cert %s may not be used by a client: its extended key usage lacks clientAuth", addr, t.tls.files.Cert)
		}
		return reloadingCreds{src: t.tls}, nil
	}
	if !t.insecure && !isLoopback(addr) {
		return nil, fmt.Errorf("cannot call %s without TLS: it is not on this machine; set -grpc-tls-cert, -grpc-tls-key and -grpc-tls-ca (or -grpc-insecure for plain text)", addr)
	}
	return insecure.NewCredentials(), nil
}

// isLoopback reports whether addr (host:port) is on this machine for
// sure: localhost or a loopback IP. An empty host (every interface) or any
// other name is not; names are not resolved, as they may change.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// peerKeepalive makes a hop notice within seconds that its neighbour
// vanished without closing the connection (a pod killed on another node),
// so that unanswered items are resent instead of waiting on a dead peer.
var peerKeepalive = keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}

// serverKeepalive accepts the pings that peerKeepalive sends.
var serverKeepalive = keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}

// peerConnect bounds the wait between two connection attempts to a
// neighbour at 2 s (2.4 s with gRPC's jitter): gRPC's default grows to 2
// minutes (18 s was seen after a 60 s outage of the router), and the
// pipeline would stand still that long after the neighbour is back. An
// attempt gets 3 s, plenty for a TCP and TLS handshake inside a cluster,
// instead of 20 s, so that one lost to a peer that vanished (its packets
// dropped) does not delay the next either.
var peerConnect = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
	MinConnectTimeout: 3 * time.Second,
}

// Flow-control windows of every gRPC connection, servers and clients
// alike: fixed, because gRPC estimates the window it needs (BDP) only
// when none is set, and for that sends a PING on the first data of every
// burst that its peer answers: two more writes and wake-ups per burst and
// direction on every hop, which at a steady rate cost more than the
// events. A batch is at most 1 MiB (relay splits larger ones), so a
// stream's window holds a few; what is held is bounded by the pipeline's
// windows (ingest's -window and -window-bytes, the publisher's
// -max-pending), not by these.
const (
	streamWindow = 4 << 20
	connWindow   = 8 << 20
)

// DialPeer connects to a neighbouring service of the pipeline with this
// service's transport security (mutual TLS with its certificate, or plain
// text on loopback; see transport). The connection is lazy and reconnects
// by itself.
func (rt *Runtime) DialPeer(addr string) (*grpc.ClientConn, error) {
	creds, err := rt.transport.dialCredentials(addr)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(dialPeer),
		grpc.WithKeepaliveParams(peerKeepalive),
		grpc.WithConnectParams(peerConnect),
		grpc.WithInitialWindowSize(streamWindow),
		grpc.WithInitialConnWindowSize(connWindow),
		experimental.WithBufferPool(buffers),
	)
	if err != nil {
		return nil, fmt.Errorf("gRPC address %q: %w", addr, err)
	}
	return conn, nil
}

// dialPeer connects to a neighbouring service directly (no proxy: the
// pipeline's hops stay inside its network) with a connection whose reads
// and writes keep clear of the scheduler's system-call hand-off
// (rawsock), and the TCP_USER_TIMEOUT gRPC sets on connections it dials
// itself.
func dialPeer(ctx context.Context, addr string) (net.Conn, error) {
	c, err := rawsock.Dial(ctx, &net.Dialer{}, "tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = rawsock.SetUserTimeout(c, peerKeepalive.Timeout)
	return c, nil
}

// acceptedUserTimeout is the TCP_USER_TIMEOUT gRPC's server sets on the
// connections it accepts: its keepalive timeout, 20 s by default.
const acceptedUserTimeout = 20 * time.Second

// observer is the platform's own interceptor, outermost on every call:
// it turns a panic into codes.Internal (logged with its stack) instead of
// a crash of the whole service, then logs and counts the call with the
// code the caller got. Recovery, logging and metrics are one interceptor
// so that a panic, wherever it happens inside (a service's interceptor or
// its handler), is logged and counted like any other failure.
//
// A panic in a goroutine that a handler starts is beyond any interceptor:
// it still ends the process.
type observer struct {
	log      *slog.Logger
	handled  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newObserver(log *slog.Logger, reg prometheus.Registerer) *observer {
	o := &observer{
		log: log,
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nemo_grpc_server_handled_total",
			Help: "gRPC calls this service answered, by method and status code.",
		}, []string{"method", "code"}),
		// Buckets from 1 ms for unary calls up to minutes; a stream of the
		// pipeline lasts as long as its connection, and lands in +Inf.
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nemo_grpc_server_handling_seconds",
			Help:    "Time from the start of a gRPC call to its answer (the end of a stream), by method and status code.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"method", "code"}),
	}
	reg.MustRegister(o.handled, o.duration)
	return o
}

func (o *observer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, o.panicked(info.FullMethod, p)
		}
		o.done(info.FullMethod, start, err)
	}()
	return handler(ctx, req)
}

func (o *observer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = o.panicked(info.FullMethod, p)
		}
		o.done(info.FullMethod, start, err)
	}()
	return handler(srv, ss)
}

// panicked logs a handler's panic with its stack and is the error the
// caller gets; the panic's value stays in the log, not in the answer.
func (o *observer) panicked(method string, p any) error {
	o.log.Error("gRPC handler panicked; answered INTERNAL", "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return status.Error(codes.Internal, "internal error")
}

// done logs and counts one call. Calls that went well, and the answers a
// caller brought on itself (a bad argument, a missing token, a standby
// refusing, the caller going away), are logged at debug: they happen all
// the time and the counter has them. Errors of the service's own are
// logged at warn.
func (o *observer) done(method string, start time.Time, err error) {
	elapsed := time.Since(start)
	st := answered(err)
	code := st.Code()
	o.handled.WithLabelValues(method, code.String()).Inc()
	o.duration.WithLabelValues(method, code.String()).Observe(elapsed.Seconds())
	level := slog.LevelDebug
	if serverFault(code) {
		level = slog.LevelWarn
	}
	if !o.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []any{"method", method, "code", code.String(), "duration", elapsed}
	if err != nil {
		attrs = append(attrs, "err", st.Message())
	}
	o.log.Log(context.Background(), level, "gRPC call", attrs...)
}

// answered is the status the caller gets for err, as grpc makes it: a
// handler's context error becomes CANCELLED or DEADLINE_EXCEEDED, not
// UNKNOWN.
func answered(err error) *status.Status {
	if st, ok := status.FromError(err); ok {
		return st
	}
	return status.FromContextError(err)
}

func serverFault(c codes.Code) bool {
	switch c {
	case codes.Unknown, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted,
		codes.Unimplemented, codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}
