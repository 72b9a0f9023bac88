package statusapi

import (
	"context"
	"sync"

	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// GetHealth asks every hop at once. It answers even when Redis or every
// service is down: saying so is its job.
func (s *Server) GetHealth(ctx context.Context, _ *statusv1.GetHealthRequest) (*statusv1.GetHealthResponse, error) {
	var (
		wg                             sync.WaitGroup
		redisHop, ingestHop, routerHop *statusv1.Hop
		publisherHop, brokerHop        *statusv1.Hop
		resp                           = &statusv1.GetHealthResponse{}
		input                          backlog
		backlogErr                     error
	)
	wg.Go(func() { redisHop = s.redisHop(ctx) })
	wg.Go(func() {
		ingestHop = sitesIngestHop(ctx, s.peers.IngestGroups)
	})
	wg.Go(func() {
		var rules *routerv1.Rules
		routerHop, rules = s.routerHop(ctx)
		resp.RulesVersion = rules.GetVersion()
	})
	wg.Go(func() { publisherHop, brokerHop = s.publisherHops(ctx) })
	wg.Go(func() { input, backlogErr = s.readBacklog(ctx) })
	wg.Go(func() { resp.Warnings = s.listWarnings(ctx) })
	wg.Wait()

	now := s.now()
	resp.Hops = []*statusv1.Hop{redisHop, ingestHop, routerHop, publisherHop, brokerHop}
	resp.Healthy = true
	for _, h := range resp.Hops {
		s.transitions.observe(h, now)
		resp.Healthy = resp.Healthy && h.GetHealthy()
	}
	if backlogErr == nil {
		resp.Backlog, resp.InFlight = input.waiting, input.inFlight
		// The answer has no field for a backlog that is only a lower
		// bound; Redis's hop, whose numbers they are, says so.
		if input.waitingNote != "" && redisHop.GetDetail() == "" {
			redisHop.Detail = input.waitingNote
		}
		if !input.oldest.IsZero() {
			resp.LagSeconds = max(0, now.Sub(input.oldest).Seconds())
		}
	}
	resp.EventsInPerSecond, resp.MessagesOutPerSecond = s.rates.PerSecond()
	resp.Summary = summarize(resp.Hops, input, resp.Warnings, now)
	return resp, nil
}
