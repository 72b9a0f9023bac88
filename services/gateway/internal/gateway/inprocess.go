package gateway

import (
	"context"
	"math"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

// inProcess serves srv to this process alone, on a gRPC server over an
// in-memory connection, behind interceptors (the runtime's whole chain:
// the platform's recovery, logging and metrics, then the gateway's
// authentication), and returns a client connection to it; stop ends both
// once the calls in flight are answered.
//
// REST and the live stream call StatusService through it rather than
// calling srv directly, as grpc-gateway's RegisterStatusServiceHandlerServer
// would, which skips every interceptor: so each call, whichever way it came
// in, passes the same check as a gRPC client's. It is a server of its own,
// not the network one on one more listener, because that one may ask what
// no in-process caller has (a client certificate, with mutual TLS), and a
// loopback port would be one more way in from outside.
func inProcess(srv statusv1.StatusServiceServer, interceptors service.Interceptors) (conn *grpc.ClientConn, stop func(), err error) {
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer(
		grpc.ChainUnaryInterceptor(interceptors.Unary...),
		grpc.ChainStreamInterceptor(interceptors.Stream...),
	)
	statusv1.RegisterStatusServiceServer(s, srv)
	go func() { _ = s.Serve(lis) }()
	conn, err = grpc.NewClient("passthrough:///in-process",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Answers as large as REST gave when it called srv directly (a
		// thousand messages with their payloads can pass gRPC's 4 MiB).
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)),
	)
	if err != nil {
		s.Stop()
		return nil, nil, err
	}
	return conn, func() {
		s.GracefulStop()
		conn.Close()
	}, nil
}
