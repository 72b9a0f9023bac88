package statusapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publisheraddr"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// peerTimeout bounds each question to a service, so that one hung service
// cannot make the health page hang.
const peerTimeout = 2 * time.Second

// Peer is one service the gateway asks about itself.
type Peer struct {
	Addr string
	conn *grpc.ClientConn
}

// Peers are the pipeline's services.
type Peers struct {
	// Ingests are every input's ingests: the active one and its standbys
	// (one lease per input: only one of them reads).
	Ingests []*Peer
	// IngestGroups are Ingests grouped by input, one per NEMO site: one
	// group unless -ingest-addr names several.
	IngestGroups []IngestGroup
	// Routers are the router replicas, each routing its own share of the
	// tools.
	Routers    []*Peer
	Publishers []*Peer
	// Shards are Publishers grouped by publisher shard: one group unless
	// -publisher-addr names several, as the router's does.
	Shards [][]*Peer
}

// IngestGroup is one input's ingests: the site they read (empty for the
// default site), the active one and its standbys.
type IngestGroup struct {
	Site    string
	Ingests []*Peer
}

// IngestAddrs is one input in -ingest-addr: its site (empty for the
// default site) and its ingests' addresses.
type IngestAddrs struct {
	Site  string
	Addrs []string
}

// ParseIngestAddrs reads -ingest-addr: inputs separated by ";", each
// input's ingests (the active one and standbys) by ","; an input may be
// named for its site, as name=addr,addr; the one without a name is the
// default site. A plain comma-separated list is one input, the default
// site's. It refuses an empty input or address, an address given twice,
// and a site named twice or in a way no site can be.
func ParseIngestAddrs(s string) ([]IngestAddrs, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("no address: give each ingest's gRPC address (host:port)")
	}
	var groups []IngestAddrs
	sites := map[string]bool{}
	addrs := map[string]string{} // address → the site it is listed for
	for i, group := range strings.Split(s, ";") {
		if strings.TrimSpace(group) == "" {
			return nil, fmt.Errorf("input %d is empty: separate inputs (sites) with one ';' and leave none at the end", i+1)
		}
		in := IngestAddrs{}
		list := group
		if name, rest, named := strings.Cut(group, "="); named {
			in.Site, list = strings.TrimSpace(name), rest
			if in.Site == "" {
				return nil, fmt.Errorf("%q: no site name before '=' (leave out name= for the default site)", strings.TrimSpace(group))
			}
			if err := records.CheckSite(in.Site); err != nil {
				return nil, err
			}
		}
		site := siteLabel(in.Site)
		if sites[in.Site] {
			if in.Site == "" {
				return nil, errors.New("two inputs have no site name, but only one can be the default site: name the others, as name=addr,addr")
			}
			return nil, fmt.Errorf("site %s is listed twice: give each site once, with all its ingests separated by ','", in.Site)
		}
		sites[in.Site] = true
		for _, addr := range strings.Split(list, ",") {
			switch addr = strings.TrimSpace(addr); {
			case addr == "":
				return nil, fmt.Errorf("%s has an empty address (a ',' too many, or nothing after '=')", site)
			case strings.Contains(addr, "="):
				return nil, fmt.Errorf("address %q holds '=': separate sites with ';', as north=addr,addr;south=addr", addr)
			}
			if other, seen := addrs[addr]; seen {
				if other == site {
					return nil, fmt.Errorf("address %s is listed twice for %s", addr, site)
				}
				return nil, fmt.Errorf("address %s is listed for both %s and %s: an ingest reads one site", addr, other, site)
			}
			addrs[addr] = site
			in.Addrs = append(in.Addrs, addr)
		}
		groups = append(groups, in)
	}
	return groups, nil
}

// siteLabel names a site in words: "site north", or "the default site".
func siteLabel(site string) string {
	if site == "" {
		return "the default site"
	}
	return "site " + site
}

// DialPeers connects (lazily) to every service with dial (the runtime's
// DialPeer, with the service's transport security); ingestAddrs is in
// ParseIngestAddrs's form, routerAddrs (the replicas) a comma-separated
// list and publisherAddrs in the router's form.
func DialPeers(dial func(addr string) (*grpc.ClientConn, error), ingestAddrs, routerAddrs, publisherAddrs string) (*Peers, error) {
	var p Peers
	inputs, err := ParseIngestAddrs(ingestAddrs)
	if err != nil {
		return nil, fmt.Errorf("ingest addresses %q: %w", ingestAddrs, err)
	}
	for _, in := range inputs {
		group := IngestGroup{Site: in.Site}
		for _, addr := range in.Addrs {
			peer, err := dialPeer(dial, addr)
			if err != nil {
				return nil, err
			}
			group.Ingests = append(group.Ingests, peer)
		}
		p.IngestGroups = append(p.IngestGroups, group)
		p.Ingests = append(p.Ingests, group.Ingests...)
	}
	for _, addr := range strings.Split(routerAddrs, ",") {
		if addr = strings.TrimSpace(addr); addr == "" {
			continue
		}
		r, err := dialPeer(dial, addr)
		if err != nil {
			return nil, err
		}
		p.Routers = append(p.Routers, r)
	}
	// The router's form, read as the router reads it, so that shard n
	// here is the router's shard n; the gateway asks each publisher.
	shards, err := publisheraddr.Parse(publisherAddrs)
	if err != nil {
		return nil, err
	}
	for _, shard := range shards {
		var group []*Peer
		for _, addr := range shard {
			pub, err := dialPeer(dial, addr)
			if err != nil {
				return nil, err
			}
			group = append(group, pub)
		}
		p.Shards = append(p.Shards, group)
		p.Publishers = append(p.Publishers, group...)
	}
	return &p, nil
}

func dialPeer(dial func(addr string) (*grpc.ClientConn, error), addr string) (*Peer, error) {
	conn, err := dial(addr)
	if err != nil {
		return nil, err
	}
	return &Peer{Addr: addr, conn: conn}, nil
}

// Close closes every connection.
func (p *Peers) Close() {
	for _, peer := range slices.Concat(p.Ingests, p.Routers, p.Publishers) {
		peer.conn.Close()
	}
}

// serving asks the service's health service; an error means it did not
// answer at all.
func (p *Peer) serving(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(p.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return false, err
	}
	return resp.GetStatus() == healthpb.HealthCheckResponse_SERVING, nil
}

// onRouter calls call on each router in turn until one answers: every
// replica has the same rules and the same state behind it.
func (p *Peers) onRouter(call func(routerv1.RouterServiceClient) error) error {
	var err error
	for _, r := range p.Routers {
		if err = call(routerv1.NewRouterServiceClient(r.conn)); status.Code(err) != codes.Unavailable {
			return err
		}
	}
	return err
}

func (p *Peer) session(ctx context.Context) (*publisherv1.GetSessionResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	return publisherv1.NewPublisherServiceClient(p.conn).GetSession(ctx, &publisherv1.GetSessionRequest{})
}

// errNoActivePublisher says that every publisher stands by (or none is
// configured).
var errNoActivePublisher = status.Error(codes.Unavailable, "no publisher is active")

// onActivePublisher calls call on each publisher in turn until one that is
// not a standby (which answers FAILED_PRECONDITION) has answered; it
// returns that answer's error.
func (p *Peers) onActivePublisher(call func(publisherv1.PublisherServiceClient) error) error {
	err := errNoActivePublisher
	for _, pub := range p.Publishers {
		e := call(publisherv1.NewPublisherServiceClient(pub.conn))
		if status.Code(e) == codes.FailedPrecondition {
			continue
		}
		if err = e; err == nil {
			return nil
		}
	}
	return err
}
