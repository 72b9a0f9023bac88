package service

import (
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/keepalive"
)

// peerKeepalive makes a hop notice within seconds that its neighbour
// vanished without closing the connection (a pod killed on another node),
// so that unanswered items are resent instead of waiting on a dead peer.
var peerKeepalive = keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}

// serverKeepalive accepts the pings that peerKeepalive sends.
var serverKeepalive = keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}

// peerConnect bounds the wait between two connection attempts to a
// neighbour at 2 s (2.4 s with gRPC's jitter): gRPC's default grows to 2
// minutes (18 s was seen after a 60 s outage of the router), and the
// pipeline would stand still that long after the neighbour is back. An
// attempt gets 3 s, plenty for a TCP and TLS handshake inside a cluster,
// instead of 20 s, so that one lost to a peer that vanished (its packets
// dropped) does not delay the next either.
var peerConnect = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
	MinConnectTimeout: 3 * time.Second,
}

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
		grpc.WithConnectParams(peerConnect),
	)
	if err != nil {
		return nil, fmt.Errorf("gRPC address %q: %w", addr, err)
	}
	return conn, nil
}
