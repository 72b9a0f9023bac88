// Package service is the bootstrap shared by every binary of the bridge:
// flags, logging, the gRPC server with its health service, the metrics and
// probe endpoint, and a graceful shutdown on SIGTERM.
package service

import (
	"flag"
	"time"

	"google.golang.org/grpc"
)

// Options are the settings every service has.
type Options struct {
	Name            string
	GRPCAddr        string
	HTTPAddr        string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	// Interceptors run on every gRPC call after the platform's own (a
	// service's authentication, for example); set in code, not by a flag.
	Interceptors Interceptors
}

// Interceptors are a service's own gRPC server interceptors.
type Interceptors struct {
	Unary  []grpc.UnaryServerInterceptor
	Stream []grpc.StreamServerInterceptor
}

// Bind registers the common flags on fs with the service's default ports.
func (o *Options) Bind(fs *flag.FlagSet, name, grpcAddr, httpAddr string) {
	o.Name = name
	fs.StringVar(&o.GRPCAddr, "grpc-addr", grpcAddr, "address the gRPC server listens on")
	fs.StringVar(&o.HTTPAddr, "http-addr", httpAddr, "address of /metrics, /healthz and /readyz (empty: off)")
	fs.StringVar(&o.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.LogFormat, "log-format", "json", "json or text")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a shutdown may take to finish the work in flight")
}
