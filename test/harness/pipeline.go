package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Pipeline is the whole bridge on real components.
type Pipeline struct {
	Env    *Env
	Bin    string
	Redis  *Redis
	PKI    *PKI
	Broker *Mosquitto
	// Peer, when asked for, is a second broker bridged with Broker: a
	// cluster of two nodes.
	Peer                      *Mosquitto
	Ingest, Router, Publisher *Service
	// BridgeGate, when asked for, stands between the publisher and the
	// broker (see Gate).
	BridgeGate *Gate
	// IngestRedisGate, when asked for, stands between ingest and Redis.
	IngestRedisGate *Gate
	// MutualTLS: the services talk gRPC with certificates of PKI.
	MutualTLS bool
	// RedisAt, when set, is the URL of database 1 of a Redis started
	// outside (Sentinel, Cluster), which the services use instead of Redis.
	RedisAt string
}

// RedisURL is the URL of the services' Redis (database 1 of Redis, or
// RedisAt).
func (p *Pipeline) RedisURL() string {
	if p.RedisAt != "" {
		return p.RedisAt
	}
	return p.Redis.URL(1)
}

// PipelineOptions add flags to each service.
type PipelineOptions struct {
	Ingest, Router, Publisher []string
	Broker                    MosquittoOptions
	// Peer, when set, starts a second broker (Pipeline.Peer) bridged with
	// the first, every topic both ways: a broker cluster. Its Bridge goes
	// to the first broker's plain listener (give its User and Password
	// when that broker wants a login).
	Peer *MosquittoOptions
	// MQTTURL, when set, is the publisher's -mqtt-url, made once the
	// brokers are up and given in a file (-mqtt-url-file), as a secret.
	MQTTURL func(*Pipeline) string
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
	// MutualTLS gives each service a certificate of the PKI and the
	// -grpc-tls-* flags, as in production; without it the services talk
	// plain gRPC on loopback.
	MutualTLS bool
	// RedisURL, when set, names a Redis started by the test (Sentinel,
	// Cluster): no Redis is started, and the services are given this URL.
	RedisURL string
}

// StartPipeline starts Redis, mosquitto with TLS, and the three services
// built into bin, wired together, and waits until they are ready. The
// publisher talks TLS to the broker; the router keeps tool state.
func (e *Env) StartPipeline(bin string, o PipelineOptions) (*Pipeline, error) {
	p := &Pipeline{Env: e, Bin: bin, MutualTLS: o.MutualTLS, RedisAt: o.RedisURL}
	var err error
	if o.RedisURL == "" {
		if p.Redis, err = e.StartRedis(); err != nil {
			return nil, err
		}
	}
	if p.PKI = o.PKI; p.PKI == nil {
		if p.PKI, err = e.NewPKI(); err != nil {
			return nil, err
		}
	}
	if p.Broker, err = e.StartMosquitto(p.PKI, o.Broker); err != nil {
		return nil, err
	}
	if o.Peer != nil {
		peer := *o.Peer
		if peer.Name == "" {
			peer.Name = "mosquitto-peer"
		}
		bridge := MosquittoBridge{}
		if peer.Bridge != nil {
			bridge = *peer.Bridge
		}
		bridge.Addr = p.Broker.PlainAddr
		peer.Bridge = &bridge
		if p.Peer, err = e.StartMosquitto(p.PKI, peer); err != nil {
			return nil, err
		}
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
	start := func(name string, args, more []string) (*Service, error) {
		tlsFlags, err := p.ServiceTLSFlags(name)
		if err != nil {
			return nil, err
		}
		return e.StartService(bin, name, slices.Concat(tlsFlags, args, more)...)
	}
	urlFlag := []string{"-mqtt-url", scheme + brokerAddr}
	if o.MQTTURL != nil {
		path := filepath.Join(e.Dir, "mqtt-url")
		if err := os.WriteFile(path, []byte(o.MQTTURL(p)+"\n"), 0o600); err != nil {
			return nil, err
		}
		urlFlag = []string{"-mqtt-url-file", path}
	}
	if p.Publisher, err = start("publisher", append(urlFlag,
		"-mqtt-ca-file", p.PKI.CAFile,
		"-mqtt-client-id", fmt.Sprintf("bridge-%d", time.Now().UnixNano()),
	), o.Publisher); err != nil {
		return nil, err
	}
	if p.Router, err = start("router", []string{
		"-publisher-addr", p.Publisher.GRPCAddr, "-redis-url", p.RedisURL(),
	}, o.Router); err != nil {
		return nil, err
	}
	ingestRedis := p.RedisURL()
	if o.GateIngestRedis {
		if p.IngestRedisGate, err = e.StartGate(p.Redis.Addr); err != nil {
			return nil, err
		}
		ingestRedis = "redis://" + p.IngestRedisGate.Addr + "/1"
	}
	if p.Ingest, err = start("ingest", []string{
		"-redis-url", ingestRedis, "-router-addr", p.Router.GRPCAddr,
	}, o.Ingest); err != nil {
		return nil, err
	}
	for _, s := range []*Service{p.Publisher, p.Router, p.Ingest} {
		if err := s.WaitReady(30 * time.Second); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// ServiceTLSFlags are the -grpc-tls-* flags of the service name with
// MutualTLS: a certificate of the PKI for 127.0.0.1 and localhost, to
// serve and to call the others, in <name>-grpc.pem and <name>-grpc.key
// (issue it again to renew it); none without.
func (p *Pipeline) ServiceTLSFlags(name string) ([]string, error) {
	if !p.MutualTLS {
		return nil, nil
	}
	spec := LoopbackServer(name + "-grpc")
	spec.CommonName, spec.ServerAndClient = name, true
	kp, err := p.PKI.Issue(spec)
	if err != nil {
		return nil, err
	}
	return []string{"-grpc-tls-cert", kp.CertFile, "-grpc-tls-key", kp.KeyFile, "-grpc-tls-ca", p.PKI.CAFile}, nil
}
