package harness

import (
	"fmt"
	"time"
)

// Pipeline is the whole bridge on real components.
type Pipeline struct {
	Env                       *Env
	Bin                       string
	Redis                     *Redis
	PKI                       *PKI
	Broker                    *Mosquitto
	Ingest, Router, Publisher *Service
	// BridgeGate, when asked for, stands between the publisher and the
	// broker (see Gate).
	BridgeGate *Gate
	// IngestRedisGate, when asked for, stands between ingest and Redis.
	IngestRedisGate *Gate
}

// PipelineOptions add flags to each service.
type PipelineOptions struct {
	Ingest, Router, Publisher []string
	Broker                    MosquittoOptions
	// GateBridge puts a Gate between the publisher and the broker.
	GateBridge bool
	// PlainBridge has the publisher talk plain MQTT to the broker's plain
	// listener (through the gate if there is one), so that a gate's tap
	// can read the packets; test subscribers still use TLS.
	PlainBridge bool
	// GateIngestRedis puts a Gate between ingest and Redis (the router
	// and the test reach Redis directly).
	GateIngestRedis bool
	// PKI, when set, is used instead of a new one, for a test that issues
	// certificates (the publisher's own, say) before the pipeline starts.
	PKI *PKI
}

// StartPipeline starts Redis, mosquitto with TLS, and the three services
// built into bin, wired together, and waits until they are ready. The
// publisher talks TLS to the broker; the router keeps tool state.
func (e *Env) StartPipeline(bin string, o PipelineOptions) (*Pipeline, error) {
	p := &Pipeline{Env: e, Bin: bin}
	var err error
	if p.Redis, err = e.StartRedis(); err != nil {
		return nil, err
	}
	if p.PKI = o.PKI; p.PKI == nil {
		if p.PKI, err = e.NewPKI(); err != nil {
			return nil, err
		}
	}
	if p.Broker, err = e.StartMosquitto(p.PKI, o.Broker); err != nil {
		return nil, err
	}
	scheme, brokerAddr := "mqtts://", p.Broker.TLSAddr
	if o.PlainBridge {
		scheme, brokerAddr = "mqtt://", p.Broker.PlainAddr
	}
	if o.GateBridge {
		if p.BridgeGate, err = e.StartGate(brokerAddr); err != nil {
			return nil, err
		}
		brokerAddr = p.BridgeGate.Addr
	}
	brokerURL := scheme + brokerAddr
	if p.Publisher, err = e.StartService(bin, "publisher", append([]string{
		"-mqtt-url", brokerURL, "-mqtt-ca-file", p.PKI.CAFile,
		"-mqtt-client-id", fmt.Sprintf("bridge-%d", time.Now().UnixNano()),
	}, o.Publisher...)...); err != nil {
		return nil, err
	}
	if p.Router, err = e.StartService(bin, "router", append([]string{
		"-publisher-addr", p.Publisher.GRPCAddr, "-redis-url", p.Redis.URL(1),
	}, o.Router...)...); err != nil {
		return nil, err
	}
	ingestRedis := p.Redis.URL(1)
	if o.GateIngestRedis {
		if p.IngestRedisGate, err = e.StartGate(p.Redis.Addr); err != nil {
			return nil, err
		}
		ingestRedis = "redis://" + p.IngestRedisGate.Addr + "/1"
	}
	if p.Ingest, err = e.StartService(bin, "ingest", append([]string{
		"-redis-url", ingestRedis, "-router-addr", p.Router.GRPCAddr,
	}, o.Ingest...)...); err != nil {
		return nil, err
	}
	for _, s := range []*Service{p.Publisher, p.Router, p.Ingest} {
		if err := s.WaitReady(30 * time.Second); err != nil {
			return nil, err
		}
	}
	return p, nil
}
