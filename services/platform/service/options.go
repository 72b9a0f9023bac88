// Package service is the bootstrap shared by every binary of the bridge:
// flags, logging, the gRPC server with its health service, its transport
// security and its interceptors, the metrics and probe endpoint, and a
// graceful shutdown on SIGTERM.
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
	PprofAddr       string
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	// TLS are the files of the mutual TLS between the services; without
	// them gRPC is plain text, which only loopback or Insecure allows.
	TLS TLSFiles
	// Insecure allows plain-text gRPC beyond loopback, listening and
	// dialling, for a network that is encrypted and closed by other means.
	Insecure bool
	// Reflection registers the gRPC reflection service, for grpcurl and
	// the like; off by default, since it lists every method to anyone who
	// connects.
	Reflection bool
	// PublicAPI marks a gRPC server that programs outside the bridge call
	// (the gateway's): with TLS it asks for no client certificate, since
	// those callers authenticate with a bearer token and hold no
	// certificate of the bridge's own CA. Set in code, not by a flag.
	PublicAPI bool
	// Interceptors run on every gRPC call after the platform's own (a
	// service's authentication, for example); set in code, not by a flag.
	Interceptors Interceptors
}

// TLSFiles are PEM files, re-read when they are renewed on disk.
type TLSFiles struct {
	// Cert is this service's certificate (followed by its intermediates,
	// if any): presented as a server, and as a client to its peers.
	Cert string
	// Key is Cert's private key.
	Key string
	// CA holds the certificates of the CA that signs the peers'
	// certificates: servers accept clients it signed, clients accept
	// servers it signed.
	CA string
}

// Interceptors are a service's own gRPC server interceptors.
type Interceptors struct {
	Unary  []grpc.UnaryServerInterceptor
	Stream []grpc.StreamServerInterceptor
}

// Bind registers the common flags on fs with the service's default ports.
func (o *Options) Bind(fs *flag.FlagSet, name, grpcAddr, httpAddr string) {
	o.Name = name
	fs.StringVar(&o.GRPCAddr, "grpc-addr", grpcAddr, "address the gRPC server listens on (beyond loopback it needs the -grpc-tls-* files, or -grpc-insecure)")
	fs.StringVar(&o.HTTPAddr, "http-addr", httpAddr, "address of /metrics, /healthz and /readyz (empty: off)")
	fs.StringVar(&o.PprofAddr, "pprof-addr", "", "loopback address serving Go's profiles under /debug/pprof/ for go tool pprof (empty: off; loopback only)")
	fs.StringVar(&o.TLS.Cert, "grpc-tls-cert", "", "PEM certificate of this service for mutual TLS between the services, as server and as client; re-read when renewed")
	fs.StringVar(&o.TLS.Key, "grpc-tls-key", "", "PEM private key of -grpc-tls-cert")
	fs.StringVar(&o.TLS.CA, "grpc-tls-ca", "", "PEM certificates of the CA that signs the services' certificates: peers must present one it signed")
	fs.BoolVar(&o.Insecure, "grpc-insecure", false, "allow gRPC without TLS beyond loopback: anyone who reaches the port can read and send events (only for a network encrypted and closed by other means)")
	fs.BoolVar(&o.Reflection, "grpc-reflection", false, "serve gRPC reflection (for grpcurl)")
	fs.StringVar(&o.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.LogFormat, "log-format", "json", "json or text")
	fs.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a shutdown may take to finish the work in flight")
}

// Version is the release of the bridge, stamped at build time by the
// Makefile (-ldflags "-X .../service.Version=..."); "dev" otherwise.
var Version = "dev"
