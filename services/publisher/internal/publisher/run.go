package publisher

import (
	"context"
	"time"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/dispatch"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
)

// Run runs the publisher until ctx is cancelled.
func Run(ctx context.Context, o Options) error {
	return service.Run(ctx, o.Service, func(rt *service.Runtime) (func(context.Context) error, error) {
		m := newMetrics(rt.Metrics)
		o.MQTT.Version = service.Version
		// The session outlives the loop's context so that messages in flight
		// at shutdown can still be acknowledged before it disconnects.
		sessionCtx, closeSession := context.WithCancel(context.Background())
		session, err := mqttsession.Start(sessionCtx, o.MQTT, rt.Log, func(st mqttsession.State) {
			rt.SetServing(st.Connected)
			if st.Connected {
				m.connected.Set(1)
			} else {
				m.connected.Set(0)
			}
		})
		if err != nil {
			closeSession()
			return nil, err
		}
		d := dispatch.New(session, o.Workers, 256, rt.Log, func(result string, took time.Duration) {
			m.messages.WithLabelValues(result).Inc()
			if result == "ok" {
				m.latency.Observe(took.Seconds())
			}
		})
		srv := newServer(d, session)
		publisherv1.RegisterPublisherServiceServer(rt.GRPC, srv)
		return func(ctx context.Context) error {
			<-ctx.Done()
			srv.shutdown()
			d.Close()
			disconnectCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			session.Stop(disconnectCtx)
			closeSession()
			return nil
		}, nil
	})
}
