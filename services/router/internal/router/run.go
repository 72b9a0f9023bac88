package router

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

// Run runs the router until ctx is cancelled.
func Run(ctx context.Context, o Options) error {
	return service.Run(ctx, o.Service, func(rt *service.Runtime) (func(context.Context) error, error) {
		settings, err := o.rulesSettings()
		if err != nil {
			return nil, fmt.Errorf("the router does not start: %w", err)
		}
		cfg := rulesConfig{prefix: o.TopicPrefix, displays: o.Displays, settings: settings}
		book, err := openRulebook(o.RulesFile, cfg, rt.Log, rt.Metrics)
		if err != nil {
			return nil, fmt.Errorf("rules refused, the router does not start:\n%w", err)
		}
		publishers, err := dialPublishers(rt.DialPeer, o.PublisherAddr)
		if err != nil {
			return nil, err
		}
		var rdb *redis.Client
		var state *stateKeeper
		if o.RedisURL != "" {
			// Named as the bridge's: the router pops the plugin's control
			// list, and ingest must not take it for another consumer.
			redisOpts, err := redisconn.Options("redis-url", o.RedisURL, "router")
			if err != nil {
				return nil, err
			}
			rdb = redis.NewClient(redisOpts)
			state = newStateKeeper(rdb, o.Stream, rt.Log)
		} else {
			rt.Log.Warn("no -redis-url: the router keeps no tool state and publishes no status snapshots")
		}
		stopping, stop := context.WithCancel(context.Background())
		srv := &server{rules: book, tracker: newTracker(), stopping: stopping, state: state, log: rt.Log}
		if rdb != nil {
			srv.recent = newRecentLog(rdb, o.RecentMessages, rt.Log, rt.Metrics)
		}
		srv.link = relay.NewLink(relay.LinkConfig[*bridgev1.Message, *publisherv1.PublishResult]{
			Name:        "publisher " + o.PublisherAddr,
			Dial:        publishers.dial,
			ItemID:      (*bridgev1.Message).GetId,
			ResultID:    (*publisherv1.PublishResult).GetMessageId,
			OnResult:    srv.settled,
			Log:         rt.Log,
			OnConnected: rt.SetServing,
		})
		srv.metrics = newMetrics(rt.Metrics, func() float64 { return float64(srv.link.Pending()) })
		routerv1.RegisterRouterServiceServer(rt.GRPC, srv)
		return func(ctx context.Context) error {
			go book.watch(ctx)
			if rdb != nil {
				go srv.state.open(ctx)
				go srv.recent.run(ctx)
				// With built-in rules too: the plugin's list must never
				// grow, whatever rules this router has.
				go consumeControlList(ctx, rdb, rt.Log)
				if o.RulesFile != "" {
					go followControl(ctx, rdb, book, rt.Log)
				}
				defer rdb.Close()
			}
			err := srv.link.Run(ctx)
			stop()
			publishers.close()
			return err
		}, nil
	})
}

// publishStream adapts the generated client stream to relay.Stream.
type publishStream struct {
	publisherv1.PublisherService_PublishClient
}

func (s publishStream) Send(msgs []*bridgev1.Message) error {
	return s.PublisherService_PublishClient.Send(&publisherv1.PublishRequest{Messages: msgs})
}

func (s publishStream) Recv() ([]*publisherv1.PublishResult, error) {
	resp, err := s.PublisherService_PublishClient.Recv()
	return resp.GetResults(), err
}
