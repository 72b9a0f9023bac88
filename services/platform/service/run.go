package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/logging"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/rawsock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

// Main is the whole of a command's main: it registers the command's flags
// with bind, parses them (with environment fallbacks), and runs run until
// SIGINT or SIGTERM. It exits 2 on a configuration error, 1 when run fails.
// -version prints the command's name, version, Go version and platform and
// exits 0 before anything else happens.
func Main(name string, bind func(*flag.FlagSet), run func(context.Context) error) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	if code, exit := parseFlags(fs, name, os.Args[1:], os.Stdout, os.Stderr, bind); exit {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		stop()
		os.Exit(1)
	}
}

// parseFlags registers -version and the command's flags (bind) on fs and
// parses args with environment fallbacks. It reports whether the command
// must exit now, and with which code: 0 after printing the version line on
// -version (which wins over a malformed environment variable, so that it
// answers whatever the container's configuration), 2 on a configuration
// error.
func parseFlags(fs *flag.FlagSet, name string, args []string, stdout, stderr io.Writer, bind func(*flag.FlagSet)) (code int, exit bool) {
	var version versionFlag
	fs.Var(&version, "version", "print the command's name, version, Go version and platform, then exit")
	bind(fs)
	err := envflag.Parse(fs, args)
	if version {
		fmt.Fprintln(stdout, VersionLine(name))
		return 0, true
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 2, true
	}
	return 0, false
}

// VersionLine is what -version prints: "ingest 3f3a8a7 go1.26.8 linux/amd64".
func VersionLine(name string) string {
	return fmt.Sprintf("%s %s %s %s/%s", name, Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// versionFlag is -version, a boolean that only the command line sets: the
// environment variable VERSION, which envflag would otherwise read for it,
// is too common a name to turn a service into a version printer.
type versionFlag bool

func (v *versionFlag) IsBoolFlag() bool { return true }
func (v *versionFlag) CommandLineOnly() {}
func (v *versionFlag) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *versionFlag) Set(s string) error {
	b, err := strconv.ParseBool(s)
	*v = versionFlag(b)
	return err
}

// Runtime is what a service gets to wire itself up.
type Runtime struct {
	Log     *slog.Logger
	GRPC    *grpc.Server
	Metrics *prometheus.Registry
	// HTTP serves on -http-addr next to /metrics, /healthz and /readyz;
	// a service may add its own routes (the gateway's REST API and page).
	HTTP      *http.ServeMux
	health    *health.Server
	transport transport
	// interceptors are GRPC's whole chain, the platform's own first.
	interceptors Interceptors
}

// Interceptors are those every call to GRPC passes, the platform's own
// (recovery, logging, metrics) and then the service's, for a server of
// the service's own that must treat its calls alike (the gateway's
// in-process server behind REST).
func (rt *Runtime) Interceptors() Interceptors { return rt.interceptors }

// Liveness is the gRPC health service name that answers whether the
// process is alive, for a liveness probe: SERVING from start to shutdown,
// whatever the readiness (the overall status, name "") says. A standby
// publisher or a router without a publisher is not ready, and restarting
// it would not help.
const Liveness = "liveness"

// SetServing reports the service as able (or not) to do its work, on the
// gRPC health service (the overall status, service name "") and on
// /readyz.
func (rt *Runtime) SetServing(serving bool) {
	status := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		status = healthpb.HealthCheckResponse_SERVING
	}
	rt.health.SetServingStatus("", status)
}

func (rt *Runtime) serving() bool {
	resp, err := rt.health.Check(context.Background(), &healthpb.HealthCheckRequest{})
	return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
}

// Setup wires a service into rt (registering its gRPC services and metrics)
// and returns its main loop, which runs until ctx is cancelled and then
// finishes or hands back what it has in flight.
type Setup func(rt *Runtime) (loop func(ctx context.Context) error, err error)

// Run runs one service until ctx is cancelled (SIGTERM in main) or its loop
// fails. Shutdown order: health turns NOT_SERVING so that load balancers stop
// sending, the loop is cancelled and given ShutdownTimeout to settle, then
// the gRPC server stops gracefully, forcibly if that takes too long.
func Run(ctx context.Context, o Options, setup Setup) error {
	log, err := logging.New(os.Stderr, o.Name, o.LogLevel, o.LogFormat)
	if err != nil {
		return err
	}
	limitMemory(log, cgroupMemoryFiles)
	paceCollector()
	tr, err := newTransport(o, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// The platform's observer is outermost, so that it catches a panic
	// anywhere below and logs and counts what the service's own
	// interceptors (authentication) answered too.
	obs := newObserver(log, reg)
	chain := Interceptors{
		Unary:  append([]grpc.UnaryServerInterceptor{obs.unary}, o.Interceptors.Unary...),
		Stream: append([]grpc.StreamServerInterceptor{obs.stream}, o.Interceptors.Stream...),
	}
	rt := &Runtime{
		Log: log,
		GRPC: grpc.NewServer(grpc.KeepaliveEnforcementPolicy(serverKeepalive),
			grpc.InitialWindowSize(streamWindow),
			grpc.InitialConnWindowSize(connWindow),
			experimental.BufferPool(buffers),
			grpc.Creds(tr.serverCredentials()),
			grpc.ChainUnaryInterceptor(chain.Unary...),
			grpc.ChainStreamInterceptor(chain.Stream...)),
		Metrics:      reg,
		health:       health.NewServer(),
		transport:    tr,
		interceptors: chain,
	}
	rt.HTTP = probeMux(rt)
	healthpb.RegisterHealthServer(rt.GRPC, rt.health)
	if o.Reflection {
		reflection.Register(rt.GRPC)
	}
	rt.SetServing(false)
	rt.health.SetServingStatus(Liveness, healthpb.HealthCheckResponse_SERVING)

	loop, err := setup(rt)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", o.GRPCAddr)
	if err != nil {
		return fmt.Errorf("gRPC listen on %s: %w", o.GRPCAddr, err)
	}
	var httpSrv *http.Server
	if o.HTTPAddr != "" {
		httpLis, err := net.Listen("tcp", o.HTTPAddr)
		if err != nil {
			lis.Close()
			return fmt.Errorf("HTTP listen on %s: %w", o.HTTPAddr, err)
		}
		httpSrv = newHTTPServer(rt.HTTP)
		go func() { _ = httpSrv.Serve(httpLis) }()
		log.Info("metrics and probes listening", "addr", httpLis.Addr().String())
	}
	if o.PprofAddr != "" {
		pprofLis, pprofSrv, err := listenPprof(o.PprofAddr)
		if err != nil {
			lis.Close()
			return err
		}
		go func() { _ = pprofSrv.Serve(pprofLis) }()
		defer pprofSrv.Close()
		log.Info("profiles listening", "addr", pprofLis.Addr().String())
	}
	go func() { _ = rt.GRPC.Serve(rawsock.Listener{Listener: lis, UserTimeout: acceptedUserTimeout}) }()
	log.Info("gRPC listening", "addr", lis.Addr().String())

	loopCtx, cancelLoop := context.WithCancel(context.WithoutCancel(ctx))
	loopDone := make(chan error, 1)
	go func() { loopDone <- loop(loopCtx) }()

	var loopErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down", "timeout", o.ShutdownTimeout)
	case loopErr = <-loopDone:
		loopDone = nil
		if loopErr != nil {
			log.Error("service stopped", "err", loopErr)
		}
	}
	rt.health.Shutdown()
	cancelLoop()
	deadline := time.Now().Add(o.ShutdownTimeout)
	if loopDone != nil {
		select {
		case loopErr = <-loopDone:
		case <-time.After(time.Until(deadline)):
			log.Warn("work in flight did not settle before the shutdown timeout")
		}
	}
	// A fresh timer: the wait above may have used the whole timeout, and
	// then the streams still open must be cut at once, not waited for.
	stopGRPC(rt.GRPC, time.After(max(0, time.Until(deadline))))
	if httpSrv != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = httpSrv.Shutdown(shutdownCtx)
	}
	if errors.Is(loopErr, context.Canceled) {
		loopErr = nil
	}
	log.Info("stopped")
	return loopErr
}

func stopGRPC(s *grpc.Server, deadline <-chan time.Time) {
	done := make(chan struct{})
	go func() { s.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-deadline:
		s.Stop()
		<-done
	}
}
