package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// probe is what the kubelet would see of s: readiness on /readyz and on
// the gRPC health service "", liveness on the gRPC health service
// "liveness" and on /healthz. The two kinds must agree with each other.
type probe struct{ ready, live bool }

func probeOf(t *testing.T, s *harness.Service) (probe, error) {
	t.Helper()
	httpOK := func(path string) bool {
		resp, err := http.Get("http://" + s.HTTPAddr + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	conn, err := grpc.NewClient(s.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return probe{}, err
	}
	defer conn.Close()
	grpcOK := func(service string) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		return err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING
	}
	p := probe{ready: httpOK("/readyz"), live: httpOK("/healthz")}
	if r, l := grpcOK(""), grpcOK("liveness"); r != p.ready || l != p.live {
		return p, fmt.Errorf("%s: HTTP says ready %v live %v, gRPC health says ready %v live %v", s.Name, p.ready, p.live, r, l)
	}
	return p, nil
}

// wantProbes waits until every service shows what want says.
func wantProbes(t *testing.T, when string, want map[*harness.Service]probe) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		for s, w := range want {
			got, err := probeOf(t, s)
			if err != nil {
				return err
			}
			if got != w {
				return fmt.Errorf("%s: %s is ready %v, live %v; want ready %v, live %v", when, s.Name, got.ready, got.live, w.ready, w.live)
			}
		}
		return nil
	})
}

// Readiness says whether a service can do its work now, so that a
// Service sends it nothing it cannot pass on; liveness fails only when a
// restart would help, so it holds through every outage here: the next hop
// gone, the broker out of reach.
func TestProbesTellTheTruth(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{GateBridge: true})
	ready, waiting := probe{ready: true, live: true}, probe{ready: false, live: true}
	wantProbes(t, "all up", map[*harness.Service]probe{p.Ingest: ready, p.Router: ready, p.Publisher: ready})

	// The broker out of reach: the publisher cannot publish, and says so;
	// the others still reach their next hop.
	p.BridgeGate.Shut()
	p.BridgeGate.Cut()
	wantProbes(t, "broker unreachable", map[*harness.Service]probe{p.Publisher: waiting, p.Router: ready, p.Ingest: ready})
	p.BridgeGate.Open()
	wantProbes(t, "broker back", map[*harness.Service]probe{p.Publisher: ready})

	// No publisher: the router has nowhere to send; ingest still reaches
	// the router.
	if err := p.Publisher.Stop(); err != nil {
		t.Fatal(err)
	}
	wantProbes(t, "publisher stopped", map[*harness.Service]probe{p.Router: waiting, p.Ingest: ready})
	// No router: ingest has nowhere to send.
	if err := p.Router.Stop(); err != nil {
		t.Fatal(err)
	}
	wantProbes(t, "router stopped", map[*harness.Service]probe{p.Ingest: waiting})
	for _, s := range []*harness.Service{p.Publisher, p.Router} {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	wantProbes(t, "all back", map[*harness.Service]probe{p.Ingest: ready, p.Router: ready, p.Publisher: ready})
}
