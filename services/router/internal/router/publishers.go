package router

import (
	"context"
	"strings"
	"sync"

	"google.golang.org/grpc"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
)

// publishers are the addresses the router may publish through. Only one
// publisher is active at a time (the others stand by and refuse streams),
// so each new stream goes to the next address after the one that failed.
// In Kubernetes one Service address is enough: readiness does the same.
type publishers struct {
	conns []*grpc.ClientConn
	mu    sync.Mutex
	next  int
}

func dialPublishers(dialPeer func(addr string) (*grpc.ClientConn, error), addrs string) (*publishers, error) {
	p := &publishers{}
	for _, addr := range strings.Split(addrs, ",") {
		conn, err := dialPeer(strings.TrimSpace(addr))
		if err != nil {
			p.close()
			return nil, err
		}
		p.conns = append(p.conns, conn)
	}
	return p, nil
}

func (p *publishers) dial(ctx context.Context) (relay.Stream[*bridgev1.Message, *publisherv1.PublishResult], error) {
	p.mu.Lock()
	conn := p.conns[p.next%len(p.conns)]
	p.next++
	p.mu.Unlock()
	s, err := publisherv1.NewPublisherServiceClient(conn).Publish(ctx)
	if err != nil {
		return nil, err
	}
	return publishStream{s}, nil
}

func (p *publishers) close() {
	for _, c := range p.conns {
		c.Close()
	}
}
