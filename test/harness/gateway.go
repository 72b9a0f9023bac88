package harness

import (
	"slices"
	"time"
)

// StartGateway runs the gateway against the pipeline's Redis and services
// (with its own certificate with MutualTLS), with args added, and waits
// until it is ready. Its REST API and page are on the returned service's
// HTTPAddr.
func (p *Pipeline) StartGateway(args ...string) (*Service, error) {
	tlsFlags, err := p.ServiceTLSFlags("gateway")
	if err != nil {
		return nil, err
	}
	s, err := p.Env.StartService(p.Bin, "gateway", slices.Concat(tlsFlags, []string{
		"-redis-url", p.RedisURL(),
		"-ingest-addr", p.Ingest.GRPCAddr, "-router-addr", p.Router.GRPCAddr, "-publisher-addr", p.Publisher.GRPCAddr,
	}, args)...)
	if err != nil {
		return nil, err
	}
	return s, s.WaitReady(30 * time.Second)
}
