package service

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

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
