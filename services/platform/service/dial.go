package service

import (
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// peerKeepalive makes a hop notice within seconds that its neighbour
// vanished without closing the connection (a pod killed on another node),
// so that unanswered items are resent instead of waiting on a dead peer.
var peerKeepalive = keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}

// serverKeepalive accepts the pings that peerKeepalive sends.
var serverKeepalive = keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}

// DialPeer connects to a neighbouring service of the pipeline with this
// service's transport security (mutual TLS with its certificate, or plain
// text on loopback; see transport). The connection is lazy and reconnects
// by itself.
func (rt *Runtime) DialPeer(addr string) (*grpc.ClientConn, error) {
	creds, err := rt.transport.dialCredentials(addr)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithKeepaliveParams(peerKeepalive),
	)
	if err != nil {
		return nil, fmt.Errorf("gRPC address %q: %w", addr, err)
	}
	return conn, nil
}
