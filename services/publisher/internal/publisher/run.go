package publisher

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/dispatch"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/lease"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/pluginstatus"
)

// Run runs the publisher until ctx is cancelled.
func Run(ctx context.Context, o Options) error {
	leaseRedis, err := openRedis("lease-redis-url", o.LeaseRedisURL)
	if err != nil {
		return err
	}
	if leaseRedis != nil {
		defer leaseRedis.Close()
	}
	// One client when both flags name the same Redis, as they usually do.
	statusRedis := leaseRedis
	if o.RedisURL != o.LeaseRedisURL {
		if statusRedis, err = openRedis("redis-url", o.RedisURL); err != nil {
			return err
		}
		if statusRedis != nil {
			defer statusRedis.Close()
		}
	}
	o.MQTT.Version = service.Version
	return service.Run(ctx, o.Service, func(rt *service.Runtime) (func(context.Context) error, error) {
		m := newMetrics(rt.Metrics)
		srv := newServer(o.MQTT)
		publisherv1.RegisterPublisherServiceServer(rt.GRPC, srv)
		return func(ctx context.Context) error {
			var held *lease.Lease
			if leaseRedis != nil {
				held = lease.New(leaseRedis, o.MQTT.ClientID, o.LeaseTTL, rt.Log)
				fence, err := held.Acquire(ctx)
				if err != nil {
					return nil // stopped while standing by
				}
				rt.Log.Info("holding the MQTT session for this client id", "client_id", o.MQTT.ClientID, "fence", fence)
			}
			// Only the active publisher gets here: a standby never writes
			// the plugin's status over the active one's.
			var status *pluginstatus.Keeper
			if statusRedis != nil {
				var active func(context.Context) (bool, error)
				if held != nil {
					active = held.Held
				}
				status = pluginstatus.New(statusRedis, active, rt.Log)
			}
			return serve(ctx, o, rt, m, srv, held, status)
		}, nil
	})
}

// openRedis makes a client of the Redis at rawURL, nil for "". A mistake
// in the URL is reported without the URL, which may hold a password.
func openRedis(flagName, rawURL string) (*redis.Client, error) {
	if rawURL == "" {
		return nil, nil
	}
	opts, err := redisconn.Options(flagName, rawURL, "publisher")
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opts), nil
}

// serve owns the MQTT session while this publisher is the active one.
// status, when not nil, keeps the NEMO plugin's bridge status meanwhile.
func serve(ctx context.Context, o Options, rt *service.Runtime, m *metrics, srv *server, held *lease.Lease, status *pluginstatus.Keeper) error {
	// The session outlives ctx so that messages in flight at shutdown can
	// still be acknowledged before it disconnects.
	sessionCtx, closeSession := context.WithCancel(context.Background())
	defer closeSession()
	session, err := mqttsession.Start(sessionCtx, o.MQTT, rt.Log, func(st mqttsession.State) {
		rt.SetServing(st.Connected)
		m.connected.Set(map[bool]float64{true: 1}[st.Connected])
		if status != nil {
			status.Connected(st.Connected)
		}
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

	// The status is kept until the stop begins; the stop writes the last
	// one itself, once it knows whether it hands over cleanly.
	statusCtx, stopStatus := context.WithCancel(ctx)
	defer stopStatus()
	statusDone := make(chan struct{})
	go func() {
		defer close(statusDone)
		if status != nil {
			status.Run(statusCtx)
		}
	}()
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
	stopStatus()
	<-statusDone
	srv.shutdown()
	d.Close()
	stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	session.Stop(stopCtx)
	if presence != nil {
		presence.Stop(stopCtx, result == nil)
	}
	if result == nil {
		// Before the lease is released, so that the "connected" of a
		// standby taking over comes after this and stays. Not when the
		// lease was lost: the publisher taking over says "connected".
		if status != nil {
			// A time of its own: a broker slow to let go may have used
			// up stopCtx.
			lastCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			status.Stopped(lastCtx)
		}
		if held != nil {
			held.Release(stopCtx)
		}
	}
	return result
}
