package service

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

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
