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
	return bufconnPeer(t, addr, ln)
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

// bufconnPeer is a peer named addr that reaches ln.
func bufconnPeer(t *testing.T, addr string, ln *bufconn.Listener) *Peer {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &Peer{Addr: addr, conn: conn}
}

// downPeer is a service that does not answer: nothing listens.
func downPeer(t *testing.T, addr string) *Peer {
	t.Helper()
	ln := bufconn.Listen(1 << 16)
	ln.Close()
	return bufconnPeer(t, addr, ln)
}

// With several sites, the one ingest hop is fine only when one ingest
// reads each site's events: the default site's reading must not hide that
// nobody reads north's, and the summary says so in words.
func TestIngestHopWithSites(t *testing.T) {
	ctx := context.Background()
	defaultSite := IngestGroup{Ingests: []*Peer{healthPeer(t, "ingest-0:7001", true), healthPeer(t, "ingest-1:7001", false)}}

	north := IngestGroup{Site: "north", Ingests: []*Peer{healthPeer(t, "north-0:7001", false), healthPeer(t, "north-1:7001", false)}}
	hop := sitesIngestHop(ctx, []IngestGroup{defaultSite, north})
	if hop.GetHealthy() || hop.GetName() != "ingest" ||
		hop.GetSummary() != "nobody reads site north's events: it cannot reach Redis or the router, or every one stands by for another's lease" ||
		!strings.Contains(hop.GetDetail(), "north-0:7001, north-1:7001") || !strings.Contains(hop.GetDetail(), "the default site: reading NEMO's events, with 1 on standby (ingest-0:7001 reads") {
		t.Fatalf("north's ingests all standing by: %v", hop)
	}

	north.Ingests = []*Peer{downPeer(t, "north-0:7001"), downPeer(t, "north-1:7001")}
	hop = sitesIngestHop(ctx, []IngestGroup{defaultSite, north})
	if hop.GetHealthy() || hop.GetSummary() != "nobody reads site north's events: not running, or not reachable at north-0:7001, north-1:7001" ||
		!strings.Contains(hop.GetDetail(), "site north: not running, or not reachable at north-0:7001, north-1:7001") {
		t.Fatalf("north's ingests unreachable: %v", hop)
	}

	north.Ingests = []*Peer{healthPeer(t, "north-0:7001", false), downPeer(t, "north-1:7001")}
	nobody := IngestGroup{Ingests: []*Peer{downPeer(t, "ingest-0:7001")}}
	hop = sitesIngestHop(ctx, []IngestGroup{nobody, north})
	if hop.GetHealthy() || hop.GetSummary() != "nobody reads the default site's events: not running, or not reachable at ingest-0:7001; "+
		"nobody reads site north's events: running, but it cannot reach Redis or the router" {
		t.Fatalf("neither site read: %v", hop)
	}

	north.Ingests = []*Peer{healthPeer(t, "north-0:7001", false), healthPeer(t, "north-1:7001", true)}
	hop = sitesIngestHop(ctx, []IngestGroup{defaultSite, north})
	if !hop.GetHealthy() || hop.GetSummary() != "reading NEMO's events of all 2 sites, with 2 on standby" ||
		!strings.Contains(hop.GetDetail(), "site north: reading NEMO's events, with 1 on standby (north-1:7001 reads; standby: north-0:7001)") {
		t.Fatalf("both sites read: %v", hop)
	}
}

// One input, even named for its site, reads as before sites.
func TestIngestHopWithOneSiteIsAsBefore(t *testing.T) {
	ctx := context.Background()
	for _, site := range []string{"", "north"} {
		hop := sitesIngestHop(ctx, []IngestGroup{{Site: site, Ingests: []*Peer{healthPeer(t, "ingest-0:7001", false), healthPeer(t, "ingest-1:7001", false)}}})
		if hop.GetHealthy() || hop.GetSummary() != "none reads NEMO's events: it cannot reach Redis or the router, or every one stands by for another's lease" {
			t.Fatalf("site %q, none serving: %v", site, hop)
		}
		hop = sitesIngestHop(ctx, []IngestGroup{{Site: site, Ingests: []*Peer{healthPeer(t, "ingest-0:7001", true)}}})
		if !hop.GetHealthy() || hop.GetSummary() != "reading NEMO's events" || hop.GetDetail() != "ingest-0:7001" {
			t.Fatalf("site %q, one serving: %v", site, hop)
		}
	}
}
