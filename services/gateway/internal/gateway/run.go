package gateway

import (
	"context"
	"crypto/rand"
	"time"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/gateway/internal/statusapi"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

// Run runs the gateway until ctx is cancelled.
func Run(ctx context.Context, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	zone, err := o.zone()
	if err != nil {
		return err
	}
	// Writes always need a token: with none given, one made now, which
	// only the log at start tells (and `make run` passes its own).
	token, made := o.AdminToken, false
	if token == "" {
		token, made = rand.Text(), true
	}
	auth := statusapi.NewAuth(token, o.ProtectReads)
	o.Service.Interceptors.Unary = append(o.Service.Interceptors.Unary, auth.Unary)
	o.Service.Interceptors.Stream = append(o.Service.Interceptors.Stream, auth.Stream)
	return service.Run(ctx, o.Service, func(rt *service.Runtime) (func(context.Context) error, error) {
		if made {
			rt.Log.Warn("no admin token was given (-admin-token-file or ADMIN_TOKEN): write actions (replay, reload, test message) need this one, made for this run and not shown again", "admin_token", token)
		}
		redisCfg, err := redisconn.Parse("redis-url", o.RedisURL, "gateway")
		if err != nil {
			return nil, err
		}
		// Short timeouts: a page waiting on a dead Redis should hear so
		// in seconds (503), not hang.
		rdb := redisCfg.WithTimeouts(2*time.Second, 2*time.Second, 2*time.Second).Client()
		peers, err := statusapi.DialPeers(rt.DialPeer, o.IngestAddr, o.RouterAddr, o.PublisherAddrs)
		if err != nil {
			rdb.Close()
			return nil, err
		}
		rates := statusapi.NewRates(rdb, 5*time.Second)
		srv := statusapi.NewServer(rdb, o.Input, o.TestTopic, zone, peers, rates)
		statusv1.RegisterStatusServiceServer(rt.GRPC, srv)
		conn, stopInProcess, err := inProcess(srv, rt.Interceptors())
		if err != nil {
			peers.Close()
			rdb.Close()
			return nil, err
		}
		readToken := ""
		if o.ProtectReads {
			readToken = token
		}
		if err := mountREST(ctx, rt, conn, readToken); err != nil {
			stopInProcess()
			peers.Close()
			rdb.Close()
			return nil, err
		}
		// The gateway can answer, in words, even when everything behind it
		// is down; it is ready as soon as it listens.
		rt.SetServing(true)
		return func(ctx context.Context) error {
			defer rdb.Close()
			defer peers.Close()
			defer stopInProcess()
			rates.Run(ctx)
			return nil
		}, nil
	})
}
