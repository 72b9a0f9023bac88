package statusapi

import (
	"context"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"
)

// healthPeer is a service whose gRPC health says serving, on bufconn.
func healthPeer(t *testing.T, addr string, serving bool) *Peer {
	t.Helper()
	ln := bufconn.Listen(1 << 16)
	srv := grpc.NewServer()
	h := health.NewServer()
	if !serving {
		h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	}
	healthpb.RegisterHealthServer(srv, h)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &Peer{Addr: addr, conn: conn}
}

// An ingest and its standby: the hop is fine when one reads, and says
// which one and that the other stands by; with none reading it is not.
func TestIngestHopWithAStandby(t *testing.T) {
	ctx := context.Background()
	hop := ingestsHop(ctx, []*Peer{healthPeer(t, "ingest-0:7001", false), healthPeer(t, "ingest-1:7001", true)})
	if !hop.GetHealthy() || hop.GetSummary() != "reading NEMO's events, with 1 on standby" ||
		!strings.Contains(hop.GetDetail(), "ingest-1:7001 reads") || !strings.Contains(hop.GetDetail(), "standby: ingest-0:7001") {
		t.Fatalf("one active, one standby: %v", hop)
	}
	hop = ingestsHop(ctx, []*Peer{healthPeer(t, "ingest-0:7001", false), healthPeer(t, "ingest-1:7001", false)})
	if hop.GetHealthy() || !strings.Contains(hop.GetSummary(), "none reads") {
		t.Fatalf("none serving: %v", hop)
	}
}
