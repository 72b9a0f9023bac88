package publisher

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/dispatch"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/lease"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
)

// Run runs the publisher until ctx is cancelled.
func Run(ctx context.Context, o Options) error {
	var rdb *redis.Client
	if o.LeaseRedisURL != "" {
		redisOpts, err := redis.ParseURL(o.LeaseRedisURL)
		if err != nil {
			return fmt.Errorf("-lease-redis-url %q: %w", o.LeaseRedisURL, err)
		}
		rdb = redis.NewClient(redisOpts)
		defer rdb.Close()
	}
	o.MQTT.Version = service.Version
	return service.Run(ctx, o.Service, func(rt *service.Runtime) (func(context.Context) error, error) {
		m := newMetrics(rt.Metrics)
		srv := newServer(o.MQTT)
		publisherv1.RegisterPublisherServiceServer(rt.GRPC, srv)
		return func(ctx context.Context) error {
			var held *lease.Lease
			if rdb != nil {
				held = lease.New(rdb, o.MQTT.ClientID, o.LeaseTTL, rt.Log)
				fence, err := held.Acquire(ctx)
				if err != nil {
					return nil // stopped while standing by
				}
				rt.Log.Info("holding the MQTT session for this client id", "client_id", o.MQTT.ClientID, "fence", fence)
			}
			return serve(ctx, o, rt, m, srv, held)
		}, nil
	})
}

// serve owns the MQTT session while this publisher is the active one.
func serve(ctx context.Context, o Options, rt *service.Runtime, m *metrics, srv *server, held *lease.Lease) error {
	// The session outlives ctx so that messages in flight at shutdown can
	// still be acknowledged before it disconnects.
	sessionCtx, closeSession := context.WithCancel(context.Background())
	defer closeSession()
	session, err := mqttsession.Start(sessionCtx, o.MQTT, rt.Log, func(st mqttsession.State) {
		rt.SetServing(st.Connected)
		m.connected.Set(map[bool]float64{true: 1}[st.Connected])
	})
	if err != nil {
		return err
	}
	d := dispatch.New(session, o.Workers, 256, rt.Log, func(result string, took time.Duration) {
		m.messages.WithLabelValues(result).Inc()
		if result == "ok" {
			m.latency.Observe(took.Seconds())
		}
	})
	srv.activate(d, session)
	var presence *mqttsession.Presence
	if o.PresenceTopic != "" {
		if presence, err = mqttsession.StartPresence(sessionCtx, o.MQTT, o.PresenceTopic, rt.Log); err != nil {
			return err
		}
	}

	lost := make(chan error, 1)
	keepCtx, stopKeeping := context.WithCancel(ctx)
	defer stopKeeping()
	if held != nil {
		go func() { lost <- held.Keep(keepCtx) }()
	}
	var result error
	select {
	case <-ctx.Done():
	case err := <-lost:
		if err != nil {
			// Another publisher may be taking over: stop at once, and let
			// the supervisor restart this one as a standby.
			rt.Log.Error("lost the publisher lease; stopping", "err", err)
			result = err
		}
	}
	srv.shutdown()
	d.Close()
	stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	session.Stop(stopCtx)
	if presence != nil {
		presence.Stop(stopCtx, result == nil)
	}
	if held != nil && result == nil {
		held.Release(stopCtx)
	}
	return result
}
