package gateway

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/gateway/internal/status"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

// Run runs the gateway until ctx is cancelled.
func Run(ctx context.Context, o Options) error {
	if err := o.validate(); err != nil {
		return err
	}
	token, err := o.token()
	if err != nil {
		return err
	}
	zone, err := o.zone()
	if err != nil {
		return err
	}
	return service.Run(ctx, o.Service, func(rt *service.Runtime) (func(context.Context) error, error) {
		redisOpts, err := redisconn.Options("redis-url", o.RedisURL, "gateway")
		if err != nil {
			return nil, err
		}
		// Short timeouts: a page waiting on a dead Redis should hear so
		// in seconds (503), not hang.
		redisOpts.DialTimeout, redisOpts.ReadTimeout, redisOpts.WriteTimeout = 2*time.Second, 2*time.Second, 2*time.Second
		rdb := redis.NewClient(redisOpts)
		peers, err := status.DialPeers(rt.DialPeer, o.IngestAddr, o.RouterAddr, o.PublisherAddrs)
		if err != nil {
			rdb.Close()
			return nil, err
		}
		auth := status.NewAuth(token, o.ProtectReads)
		if !auth.Enabled() {
			rt.Log.Warn("no admin token: anyone who reaches the gateway can replay dead letters and reload the rules; set -admin-token-file (ADMIN_TOKEN_FILE) in production")
		}
		rates := status.NewRates(rdb, 5*time.Second)
		srv := status.NewServer(rdb, o.Input, o.TestTopic, zone, peers, rates, auth)
		statusv1.RegisterStatusServiceServer(rt.GRPC, srv)
		readToken := ""
		if o.ProtectReads {
			readToken = token
		}
		if err := mountREST(ctx, rt, srv, readToken); err != nil {
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
			rates.Run(ctx)
			return nil
		}, nil
	})
}
