package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// ingestAloneStream is the stream phase 5 drains, apart from NEMO's so
// that the pipeline's phases never see its entries.
const ingestAloneStream = "bench:ingest-alone"

// ingestAlone is phase 5: one ingest drains a backlog of n events into a
// router that answers every event at once, without publishing. It is how
// fast one ingest reads, decodes, hands over and acknowledges: the
// ceiling of the one active reader per input, to set beside the drain of
// the whole pipeline.
func ingestAlone(ctx context.Context, env *harness.Env, o options, w workload, rdb *redis.Client, redisURL string, n int) (result, error) {
	if err := writeEventsTo(ctx, rdb, ingestAloneStream, w, 0, n, spread(o.tools)); err != nil {
		return result{}, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := grpc.NewServer()
	routerv1.RegisterRouterServiceServer(srv, answeringRouter{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	started := time.Now()
	ingest, err := env.StartServiceAs("ingest-alone", o.binDir, "ingest", "-log-level", "warn", "-redis-url", redisURL,
		"-router-addr", lis.Addr().String(), "-stream", ingestAloneStream, "-group", "bench-ingest-alone")
	if err != nil {
		return result{}, err
	}
	defer ingest.Stop()
	deadline := time.Now().Add(60 * time.Second)
	for {
		acked, err := ingest.Metric(`nemo_ingest_events_acked_total{outcome="delivered"}`)
		if err == nil && int(acked) >= n {
			return result{messages: n, took: time.Since(started)}, nil
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("ingest alone acknowledged %.0f of %d events in 60 s (%v)", acked, n, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// answeringRouter answers every event as delivered the moment it arrives.
type answeringRouter struct {
	routerv1.UnimplementedRouterServiceServer
}

func (answeringRouter) Route(stream routerv1.RouterService_RouteServer) error {
	for {
		req, err := stream.Recv()
		if err != nil {
			return nil
		}
		acks := make([]*bridgev1.EventAck, len(req.GetEvents()))
		for i, ev := range req.GetEvents() {
			acks[i] = &bridgev1.EventAck{EventId: ev.GetId(), Outcome: bridgev1.Outcome_OUTCOME_DELIVERED}
		}
		if err := stream.Send(&routerv1.RouteResponse{Acks: acks}); err != nil {
			return nil
		}
	}
}
