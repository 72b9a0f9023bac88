package statusapi

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
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
	// Ingests are the active ingest and its standbys (one lease per
	// input: only one of them reads).
	Ingests []*Peer
	// Routers are the router replicas, each routing its own share of the
	// tools.
	Routers    []*Peer
	Publishers []*Peer
	// Shards are Publishers grouped by publisher shard: one group unless
	// -publisher-addr names several, as the router's does.
	Shards [][]*Peer
}

// DialPeers connects (lazily) to every service with dial (the runtime's
// DialPeer, with the service's transport security); ingestAddrs (the
// active one and standbys), routerAddrs (the replicas) and publisherAddrs
// (the router's form) are comma-separated lists.
func DialPeers(dial func(addr string) (*grpc.ClientConn, error), ingestAddrs, routerAddrs, publisherAddrs string) (*Peers, error) {
	var p Peers
	for _, addr := range strings.Split(ingestAddrs, ",") {
		if addr = strings.TrimSpace(addr); addr == "" {
			continue
		}
		in, err := dialPeer(dial, addr)
		if err != nil {
			return nil, err
		}
		p.Ingests = append(p.Ingests, in)
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
	// The router's form: shards separated by ";", a shard's publishers
	// by ","; the gateway asks each of them.
	for _, shard := range strings.Split(publisherAddrs, ";") {
		var group []*Peer
		for _, addr := range strings.Split(shard, ",") {
			if addr = strings.TrimSpace(addr); addr == "" {
				continue
			}
			pub, err := dialPeer(dial, addr)
			if err != nil {
				return nil, err
			}
			group = append(group, pub)
		}
		if len(group) > 0 {
			p.Shards = append(p.Shards, group)
			p.Publishers = append(p.Publishers, group...)
		}
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
