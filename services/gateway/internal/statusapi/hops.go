package statusapi

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
)

// Hop names, in the order of the flow.
const (
	hopRedis     = "redis"
	hopIngest    = "ingest"
	hopRouter    = "router"
	hopPublisher = "publisher"
	hopBroker    = "broker"
)

// transitions remembers since when each hop is in its state, as the
// gateway saw it, for hops that do not say so themselves.
type transitions struct {
	mu    sync.Mutex
	state map[string]bool
	since map[string]time.Time
}

func (t *transitions) observe(hop *statusv1.Hop, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state == nil {
		t.state, t.since = map[string]bool{}, map[string]time.Time{}
	}
	if prev, seen := t.state[hop.Name]; !seen || prev != hop.Healthy {
		t.state[hop.Name], t.since[hop.Name] = hop.Healthy, now
	}
	if hop.Since == nil {
		hop.Since = timestamppb.New(t.since[hop.Name])
	}
}

func (s *Server) redisHop(ctx context.Context) *statusv1.Hop {
	addr := redisconn.Addr(s.rdb)
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return &statusv1.Hop{Name: hopRedis, Summary: "cannot reach Redis at " + addr, Detail: err.Error()}
	}
	return &statusv1.Hop{Name: hopRedis, Healthy: true, Summary: "Redis at " + addr + " answers"}
}

// serviceHop asks a service's health. notReady says, in words, what a
// service that runs but is not ready is waiting for.
func serviceHop(ctx context.Context, name string, p *Peer, working, notReady string) *statusv1.Hop {
	serving, err := p.serving(ctx)
	switch {
	case err != nil:
		return &statusv1.Hop{Name: name, Summary: "not running, or not reachable at " + p.Addr, Detail: err.Error()}
	case !serving:
		return &statusv1.Hop{Name: name, Summary: "running, but " + notReady, Detail: p.Addr + " reports NOT_SERVING"}
	}
	return &statusv1.Hop{Name: name, Healthy: true, Summary: working, Detail: p.Addr}
}

// ingestsHop asks every ingest of one input: with one lease per input,
// one reads and the others (standbys) report NOT_SERVING by design, so the
// hop is fine when one of them is SERVING.
func ingestsHop(ctx context.Context, peers []*Peer) *statusv1.Hop {
	if len(peers) == 1 {
		return serviceHop(ctx, hopIngest, peers[0], ingestWorking, ingestNotReady)
	}
	return inputHop(peers, askIngests(ctx, peers))
}

// What an ingest does, and what one that runs but is not ready waits for.
const ingestWorking, ingestNotReady = "reading NEMO's events", "it cannot reach Redis or the router"

// askIngests asks each of peers for its health, all at once.
func askIngests(ctx context.Context, peers []*Peer) []*statusv1.Hop {
	hops := make([]*statusv1.Hop, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() { hops[i] = serviceHop(ctx, hopIngest, p, ingestWorking, ingestNotReady) })
	}
	wg.Wait()
	return hops
}

// ingestAnswers sorts one input's answers: the first that reads, those
// that stand by (or cannot work) and those that do not answer.
func ingestAnswers(peers []*Peer, hops []*statusv1.Hop) (active *statusv1.Hop, standing, down []string) {
	for i, h := range hops {
		switch {
		case h.Healthy && active == nil:
			active = h
		case strings.HasPrefix(h.Summary, "not running"):
			down = append(down, peers[i].Addr)
		default:
			standing = append(standing, peers[i].Addr)
		}
	}
	return active, standing, down
}

// inputHop sums up the answers of one input's ingests (hops[i] is
// peers[i]'s).
func inputHop(peers []*Peer, hops []*statusv1.Hop) *statusv1.Hop {
	active, standing, down := ingestAnswers(peers, hops)
	var detail []string
	if active == nil {
		hop := &statusv1.Hop{Name: hopIngest, Summary: "none reads NEMO's events: " + ingestNotReady + ", or every one stands by for another's lease"}
		if len(standing) > 0 {
			detail = append(detail, "not serving: "+strings.Join(standing, ", "))
		}
		if len(down) > 0 {
			hop.Summary = "not running, or not reachable at " + strings.Join(down, ", ")
			if len(standing) > 0 {
				hop.Summary = "running, but none reads NEMO's events: " + ingestNotReady
			}
			detail = append(detail, "not answering: "+strings.Join(down, ", "))
		}
		hop.Detail = strings.Join(detail, "; ")
		return hop
	}
	detail = append(detail, active.GetDetail()+" reads")
	if len(standing) > 0 {
		active.Summary += fmt.Sprintf(", with %d on standby", len(standing))
		detail = append(detail, "standby: "+strings.Join(standing, ", "))
	}
	if len(down) > 0 {
		detail = append(detail, "not answering: "+strings.Join(down, ", "))
	}
	active.Detail = strings.Join(detail, "; ")
	return active
}

// sitesIngestHop asks the ingests of every input (one per NEMO site):
// still the one ingest hop, fine only when one ingest reads in every
// input. With one input it is that input's, worded as before sites.
func sitesIngestHop(ctx context.Context, groups []IngestGroup) *statusv1.Hop {
	switch len(groups) {
	case 0:
		return ingestsHop(ctx, nil)
	case 1:
		return ingestsHop(ctx, groups[0].Ingests)
	}
	hops := make([][]*statusv1.Hop, len(groups))
	var wg sync.WaitGroup
	for i, g := range groups {
		wg.Go(func() { hops[i] = askIngests(ctx, g.Ingests) })
	}
	wg.Wait()
	return sitesHop(groups, hops)
}

// sitesHop sums up the inputs' answers (hops[i][j] is groups[i].Ingests[j]'s):
// the summary says whose site's events nobody reads, and why; the detail
// says, site by site, which ingest reads, stands by or does not answer.
func sitesHop(groups []IngestGroup, hops [][]*statusv1.Hop) *statusv1.Hop {
	hop := &statusv1.Hop{Name: hopIngest, Healthy: true}
	var trouble, detail []string
	onStandby := 0
	for i, g := range groups {
		active, standing, down := ingestAnswers(g.Ingests, hops[i])
		site := siteLabel(g.Site)
		var own *statusv1.Hop
		if len(g.Ingests) == 1 {
			own = hops[i][0]
		} else {
			own = inputHop(g.Ingests, hops[i])
		}
		detail = append(detail, site+": "+own.GetSummary()+detailSuffix(own))
		if active != nil {
			onStandby += len(standing)
			continue
		}
		hop.Healthy = false
		trouble = append(trouble, "nobody reads "+site+"'s events: "+noReaderReason(standing, down))
	}
	hop.Detail = strings.Join(detail, "; ")
	if !hop.Healthy {
		hop.Summary = strings.Join(trouble, "; ")
		return hop
	}
	hop.Summary = fmt.Sprintf("%s of all %d sites", ingestWorking, len(groups))
	if onStandby > 0 {
		hop.Summary += fmt.Sprintf(", with %d on standby", onStandby)
	}
	return hop
}

// noReaderReason says why none of an input's ingests reads: those
// standing say NOT_SERVING, those down do not answer.
func noReaderReason(standing, down []string) string {
	switch {
	case len(standing) == 0 && len(down) == 0:
		return "no ingest is configured for it"
	case len(standing) == 0:
		return "not running, or not reachable at " + strings.Join(down, ", ")
	case len(standing) == 1 || len(down) > 0:
		return "running, but " + ingestNotReady
	}
	return ingestNotReady + ", or every one stands by for another's lease"
}

// routerHop is the routers' health and the rules they have in force. With
// replicas, each routes its own tools: the hop is fine only when every one
// is, and names those that are not (their tools move to the others once
// ingest's -router-failover has passed).
func (s *Server) routerHop(ctx context.Context) (*statusv1.Hop, *routerv1.Rules) {
	const working, notReady = "turning events into messages", "it cannot reach the publisher"
	hops := make([]*statusv1.Hop, len(s.peers.Routers))
	var wg sync.WaitGroup
	for i, p := range s.peers.Routers {
		wg.Go(func() { hops[i] = serviceHop(ctx, hopRouter, p, working, notReady) })
	}
	wg.Wait()
	hop := routersHop(hops)
	if !hop.Healthy && strings.HasPrefix(hop.Summary, "not running") {
		return hop, nil
	}
	ctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	var resp *routerv1.GetRulesResponse
	if err := s.peers.onRouter(func(c routerv1.RouterServiceClient) (err error) {
		resp, err = c.GetRules(ctx, &routerv1.GetRulesRequest{})
		return err
	}); err != nil {
		return hop, nil
	}
	if last := resp.GetRules().GetLastError(); last != "" {
		hop.Detail += "; the last rules file was refused: " + last
	}
	return hop, resp.GetRules()
}

// routersHop sums up the replicas' hops: one router's is its own.
func routersHop(hops []*statusv1.Hop) *statusv1.Hop {
	if len(hops) == 1 {
		return hops[0]
	}
	var bad, detail []string
	for _, h := range hops {
		detail = append(detail, h.GetDetail())
		if !h.GetHealthy() {
			bad = append(bad, h.GetSummary())
		}
	}
	hop := &statusv1.Hop{Name: hopRouter, Healthy: len(bad) == 0, Detail: strings.Join(detail, "; ")}
	switch {
	case len(bad) == 0:
		hop.Summary = fmt.Sprintf("turning events into messages (%d routers)", len(hops))
	case len(bad) == len(hops):
		hop.Summary = bad[0]
	default:
		hop.Summary = fmt.Sprintf("%d of %d routers: %s; their tools move to the others", len(bad), len(hops), strings.Join(bad, "; "))
	}
	return hop
}

// sessionAnswer is one publisher's answer to GetSession.
type sessionAnswer struct {
	addr    string
	session *publisherv1.GetSessionResponse
	err     error
}

// publisherHops asks every publisher: the publisher hop is fine when one
// runs in every shard; the broker hop is the session of each shard's
// active one (not a standby).
func (s *Server) publisherHops(ctx context.Context) (publisher, broker *statusv1.Hop) {
	shards := make([][]sessionAnswer, len(s.peers.Shards))
	var wg sync.WaitGroup
	for i, shard := range s.peers.Shards {
		shards[i] = make([]sessionAnswer, len(shard))
		for j, p := range shard {
			wg.Go(func() {
				sess, err := p.session(ctx)
				shards[i][j] = sessionAnswer{p.Addr, sess, err}
			})
		}
	}
	wg.Wait()
	return shardedHops(shards)
}

// shardedHops sums up each shard's hops. With one shard they are its own;
// with several, a hop is healthy when it is in every shard, and says
// which shard is not: that shard's tools wait.
func shardedHops(shards [][]sessionAnswer) (publisher, broker *statusv1.Hop) {
	switch len(shards) {
	case 0:
		return shardHops(nil)
	case 1:
		return shardHops(shards[0])
	}
	publisher = &statusv1.Hop{Name: hopPublisher, Healthy: true}
	broker = &statusv1.Hop{Name: hopBroker, Healthy: true}
	var pubTrouble, brokerTrouble, pubDetail, brokerDetail []string
	for i, answers := range shards {
		pub, brk := shardHops(answers)
		name := fmt.Sprintf("shard %d", i)
		if id := clientID(answers); id != "" {
			name += " (" + id + ")"
		}
		pubDetail = append(pubDetail, name+": "+pub.GetSummary()+detailSuffix(pub))
		brokerDetail = append(brokerDetail, name+": "+brk.GetSummary()+detailSuffix(brk))
		if !pub.GetHealthy() {
			publisher.Healthy = false
			pubTrouble = append(pubTrouble, name+": "+pub.GetSummary())
		}
		if !brk.GetHealthy() {
			broker.Healthy = false
			brokerTrouble = append(brokerTrouble, name+": "+brk.GetSummary())
		}
		if broker.Since == nil || brk.GetSince().AsTime().After(broker.Since.AsTime()) {
			broker.Since = brk.GetSince()
		}
	}
	publisher.Summary = fmt.Sprintf("running in all %d shards", len(shards))
	if !publisher.Healthy {
		publisher.Summary = strings.Join(pubTrouble, "; ") + "; the tools of that shard wait"
	}
	broker.Summary = fmt.Sprintf("connected: %d sessions, one per shard", len(shards))
	if !broker.Healthy {
		broker.Summary = strings.Join(brokerTrouble, "; ")
	}
	publisher.Detail, broker.Detail = strings.Join(pubDetail, "; "), strings.Join(brokerDetail, "; ")
	return publisher, broker
}

func clientID(answers []sessionAnswer) string {
	for _, a := range answers {
		if a.err == nil && a.session.GetClientId() != "" {
			return a.session.GetClientId()
		}
	}
	return ""
}

func detailSuffix(h *statusv1.Hop) string {
	if h.GetDetail() == "" {
		return ""
	}
	return " (" + h.GetDetail() + ")"
}

// shardHops are the hops of one shard's publishers: the publisher hop is
// fine when one runs; the broker hop is the session of the active one.
func shardHops(answers []sessionAnswer) (publisher, broker *statusv1.Hop) {
	var active *sessionAnswer
	var standbys, down []string
	for i, a := range answers {
		switch {
		case a.err != nil:
			down = append(down, a.addr)
		case a.session.GetStandby():
			standbys = append(standbys, a.addr)
		case active == nil || a.session.GetConnected():
			active = &answers[i]
		}
	}
	publisher = &statusv1.Hop{Name: hopPublisher}
	var detail []string
	switch {
	case active != nil:
		publisher.Healthy, publisher.Summary = true, "running"
		if len(standbys) > 0 {
			publisher.Summary += fmt.Sprintf(", with %d on standby", len(standbys))
		}
		detail = append(detail, active.addr+" is active")
		broker = brokerHop(active.session)
	case len(standbys) > 0:
		publisher.Summary = "only standbys run: none holds the MQTT session"
		broker = &statusv1.Hop{Name: hopBroker, Summary: "not connected: no publisher is active"}
	default:
		publisher.Summary = "not running, or not reachable at " + strings.Join(down, ", ")
		broker = &statusv1.Hop{Name: hopBroker, Summary: "unknown: no publisher answers"}
	}
	if len(standbys) > 0 {
		detail = append(detail, "standby: "+strings.Join(standbys, ", "))
	}
	if len(down) > 0 && active != nil {
		detail = append(detail, "not answering: "+strings.Join(down, ", "))
	}
	publisher.Detail = strings.Join(detail, "; ")
	return publisher, broker
}

// brokerHop is the active publisher's session. While it is down, Detail is
// the publisher's reason in words (what failed and what to do about it).
func brokerHop(sess *publisherv1.GetSessionResponse) *statusv1.Hop {
	hop := &statusv1.Hop{Name: hopBroker, Since: sess.GetSince()}
	if sess.GetConnected() {
		hop.Healthy, hop.Summary = true, "connected to "+sess.GetBroker()
		hop.Detail = "client id " + sess.GetClientId()
		return hop
	}
	hop.Summary, hop.Detail = "cannot reach the broker at "+sess.GetBroker(), sess.GetLastError()
	return hop
}
