package publisher

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/lease"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/pipeline"
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
		srv := newServer(o.MQTT, m.stageTransit)
		publisherv1.RegisterPublisherServiceServer(rt.GRPC, srv)
		// Only the active publisher keeps the plugin's status: a standby
		// never writes it over the active one's.
		newStatus := func(held *lease.Lease) *pluginstatus.Keeper {
			if statusRedis == nil {
				return nil
			}
			var active func(context.Context) (bool, error)
			if held != nil {
				active = func(context.Context) (bool, error) { return held.Held(), nil }
			}
			return pluginstatus.New(statusRedis, active, rt.Log)
		}
		return func(ctx context.Context) error {
			if leaseRedis == nil {
				m.active.Set(1)
				return serve(ctx, o, rt, m, srv, nil, newStatus(nil))
			}
			held := lease.New(leaseRedis, records.PublisherLease(o.MQTT.ClientID), "publisher", o.LeaseTTL, rt.Log)
			for {
				fence, err := held.Acquire(ctx)
				if err != nil {
					return nil // stopped while standing by
				}
				rt.Log.Info("holding the MQTT session for this client id", "client_id", o.MQTT.ClientID, "fence", fence)
				m.active.Set(1)
				err = serve(ctx, o, rt, m, srv, held, newStatus(held))
				m.active.Set(0)
				if !errors.Is(err, lease.ErrLost) {
					return err
				}
				// Off the broker already: stand by for the lease
				// again rather than exit, so that no supervisor is
				// needed to get a standby back after a Redis outage.
				rt.Log.Info("standing by for the publisher lease again")
			}
		}, nil
	})
}

// openRedis makes a client of the Redis at rawURL, nil for "". A mistake
// in the URL is reported without the URL, which may hold a password.
func openRedis(flagName, rawURL string) (redis.UniversalClient, error) {
	if rawURL == "" {
		return nil, nil
	}
	cfg, err := redisconn.Parse(flagName, rawURL, "publisher")
	if err != nil {
		return nil, err
	}
	// Every call of the lease has a deadline within the lease's time,
	// which go-redis applies to the connection only when told to (by
	// default a read waits for ReadTimeout whatever the context says).
	return cfg.WithContextTimeout().Client(), nil
}

// serve owns the MQTT session while this publisher is the active one,
// until ctx ends (a clean stop, nil) or the lease is lost (ErrLost, once
// off the broker). status, when not nil, keeps the NEMO plugin's bridge
// status meanwhile.
func serve(ctx context.Context, o Options, rt *service.Runtime, m *metrics, srv *server, held *lease.Lease, status *pluginstatus.Keeper) error {
	// The session outlives ctx so that messages in flight at shutdown can
	// still be acknowledged before it disconnects.
	sessionCtx, closeSession := context.WithCancel(context.Background())
	defer closeSession()
	// Once the session is dropped for a lost lease, nothing it still
	// reports may make this publisher look ready or connected again.
	var watchMu sync.Mutex
	dropped := false
	session, err := mqttsession.Start(sessionCtx, o.MQTT, rt.Log, func(st mqttsession.State) {
		watchMu.Lock()
		defer watchMu.Unlock()
		if dropped {
			return
		}
		rt.SetServing(st.Connected)
		m.connected.Set(map[bool]float64{true: 1}[st.Connected])
		if status != nil {
			status.Connected(st.Connected)
		}
	})
	if err != nil {
		return err
	}
	p := pipeline.New(session, pipeline.Options{
		Capacity: o.Capacity, MaxInFlight: o.MaxInFlight, AckTimeout: o.AckTimeout, Log: rt.Log,
		Attempt: func(result string, took time.Duration) {
			m.messages.WithLabelValues(result).Inc()
			m.stageBroker.Observe(took.Seconds())
			if result == "ok" {
				m.latency.Observe(took.Seconds())
			}
		},
		Queued:   func(took time.Duration) { m.stageQueue.Observe(took.Seconds()) },
		Replaced: m.replaced.Inc,
	})
	srv.activate(p, session)
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

	// The lease is renewed until the session is stopped, a clean stop
	// included. Whenever it is lost, both connections of the client id
	// leave the broker at once, before a standby may take over: cleanly,
	// so that the broker sends no will, and without the "offline" status,
	// which the publisher taking over would find after its own "online".
	// Whatever the session had in flight is abandoned unanswered, and the
	// router resends it to the next active publisher.
	lost := make(chan error, 1)
	keepCtx, stopKeeping := context.WithCancel(context.Background())
	defer stopKeeping()
	kept := make(chan struct{})
	go func() {
		defer close(kept)
		if held == nil {
			return
		}
		if err := held.Keep(keepCtx); err != nil {
			watchMu.Lock()
			dropped = true
			rt.SetServing(false)
			m.connected.Set(0)
			watchMu.Unlock()
			dropCtx, cancel := context.WithDeadline(context.Background(), held.DropBy())
			defer cancel()
			var wg sync.WaitGroup
			wg.Go(func() {
				if err := session.Disconnect(dropCtx); err != nil {
					rt.Log.Error("the MQTT session did not close before the lease ran out", "err", err)
				}
			})
			if presence != nil {
				wg.Go(func() { presence.Stop(dropCtx, false) })
			}
			wg.Wait()
			rt.Log.Warn("lost the publisher lease; left the broker", "err", err, "spare", time.Until(held.DropBy()).Round(time.Millisecond))
			lost <- err
		}
	}()

	var result error
	select {
	case <-ctx.Done():
	case result = <-lost:
	}
	// The streams first, so that the router turns to the next active
	// publisher at once, even while a status write waits for Redis.
	srv.shutdown()
	p.Close()
	stopStatus()
	<-statusDone
	if result == nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		session.Stop(stopCtx)
		if presence != nil {
			presence.Stop(stopCtx, true)
		}
		stopKeeping()
		<-kept
		select {
		case result = <-lost: // during the stop
		default:
		}
	}
	if result != nil {
		return result
	}
	// Before the lease is released, so that the "connected" of a standby
	// taking over comes after this and stays.
	if status != nil {
		// A time of its own: a broker slow to let go may have used up
		// the stop's.
		lastCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		status.Stopped(lastCtx)
	}
	if held != nil {
		releaseCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		held.Release(releaseCtx)
	}
	return nil
}
