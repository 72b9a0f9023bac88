package router

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/backoff"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publisheraddr"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publisherreads"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/shardhash"
)

type publishLink = relay.Link[*bridgev1.Message, *publisherv1.PublishResult]

// askHolding asks shard which of keys its publisher still holds messages
// of (publisherv1 InFlight).
type askHolding func(ctx context.Context, shard int, keys []string) ([]string, error)

// shards is what the router publishes through: one link per publisher
// shard. Each tool belongs to one shard (shardhash of its ordering key),
// whose one MQTT session carries all of the tool's messages, so that
// MQTT's per-connection order is the tool's order. While a shard has no
// open stream (its active publisher is gone and its standby has not taken
// the lease yet), its tools' messages wait in its link, to be sent when
// the stream opens; no other shard publishes them.
//
// A tool may have been published through another shard before: by this
// router's previous run with fewer or more shards, or by another router.
// So the first time this router publishes a tool, its messages are held
// until every other shard says it holds nothing of the tool (see
// release): two sessions never carry one tool's messages at once.
type shards struct {
	links []*publishLink
	ask   askHolding // nil with one shard: there is nowhere else to look
	log   *slog.Logger

	// sendMu orders Submit and release, so that a tool's held messages
	// go out before any newer one; it is held while a link blocks on flow
	// control. mu guards the maps only, so that Pending and Held (read
	// by metrics scrapes) never wait for a blocked link.
	sendMu  sync.Mutex
	mu      sync.Mutex
	cleared map[string]struct{}            // tools let go by every other shard
	held    map[string][]*bridgev1.Message // the others' messages, in order
	wake    chan struct{}
}

func newShards(ask askHolding, log *slog.Logger, links ...*publishLink) *shards {
	if len(links) == 1 {
		ask = nil
	}
	return &shards{links: links, ask: ask, log: log,
		cleared: map[string]struct{}{}, held: map[string][]*bridgev1.Message{}, wake: make(chan struct{}, 1)}
}

// Submit hands each message to its tool's shard, in order per shard, or
// holds it while its tool is not yet let go by the other shards.
func (s *shards) Submit(msgs []*bridgev1.Message) {
	if s.ask == nil {
		s.links[0].Submit(msgs)
		return
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	parts := make([][]*bridgev1.Message, len(s.links))
	holding := false
	for _, m := range msgs {
		key := keyOf(m)
		if _, ok := s.cleared[key]; !ok {
			s.held[key] = append(s.held[key], m)
			holding = true
			continue
		}
		i := shardhash.Owner(key, len(s.links))
		parts[i] = append(parts[i], m)
	}
	s.mu.Unlock()
	if holding {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	s.submitLocked(parts)
}

// submitLocked hands parts to the links; the caller holds sendMu.
func (s *shards) submitLocked(parts [][]*bridgev1.Message) {
	for i, part := range parts {
		s.links[i].Submit(part)
	}
}

// keyOf is what a message is sharded by: its tool's ordering key. A
// message without one (none is made today) goes by its topic, which
// keeps a topic's order.
func keyOf(m *bridgev1.Message) string {
	if key := m.GetOrderingKey(); key != "" {
		return key
	}
	return "topic:" + m.GetTopic()
}

// Pending is the number of messages not yet answered, over every shard,
// held ones included.
func (s *shards) Pending() int {
	n := 0
	for _, l := range s.links {
		n += l.Pending()
	}
	s.mu.Lock()
	for _, msgs := range s.held {
		n += len(msgs)
	}
	s.mu.Unlock()
	return n
}

// Held is the number of tools whose messages wait to be let go.
func (s *shards) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}

// Run keeps every shard's stream open, and lets held tools go, until ctx
// is cancelled.
func (s *shards) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, l := range s.links {
		wg.Go(func() { _ = l.Run(ctx) })
	}
	if s.ask != nil {
		wg.Go(func() { s.releaseLoop(ctx) })
	}
	wg.Wait()
	return ctx.Err()
}

// releaseLoop lets held tools go as soon as every other shard holds
// nothing of them, asking again, with backoff, about those still held
// somewhere or whose other shards cannot answer (no active publisher).
func (s *shards) releaseLoop(ctx context.Context) {
	retry := backoff.New(50*time.Millisecond, time.Second)
	blocked := map[int]bool{} // shards that could not answer, logged once
	for {
		select {
		case <-s.wake:
		case <-ctx.Done():
			return
		}
		for {
			s.mu.Lock()
			keys := make([]string, 0, len(s.held))
			for k := range s.held {
				keys = append(keys, k)
			}
			s.mu.Unlock()
			if len(keys) == 0 {
				retry.Reset()
				break
			}
			free := s.letGo(ctx, keys, blocked)
			s.release(free)
			if len(free) == len(keys) {
				retry.Reset()
				continue
			}
			if backoff.Sleep(ctx, retry.Next()) != nil {
				return
			}
		}
	}
}

// letGo returns the keys no shard but their owner holds messages of.
func (s *shards) letGo(ctx context.Context, keys []string, blocked map[int]bool) []string {
	busy := map[string]bool{}
	for shard := range s.links {
		var others []string
		for _, k := range keys {
			if shardhash.Owner(k, len(s.links)) != shard {
				others = append(others, k)
			}
		}
		for chunk := range slices.Chunk(others, publisherreads.MaxInFlightKeys) {
			holding, err := s.ask(ctx, shard, chunk)
			if err != nil {
				if !blocked[shard] && ctx.Err() == nil {
					s.log.Warn("tools new to this router wait until this shard can say it holds nothing of them", "shard", shard, "tools", len(chunk), "err", err)
				}
				blocked[shard] = true
				for _, k := range chunk {
					busy[k] = true
				}
				continue
			}
			if blocked[shard] {
				s.log.Info("shard answers again: the tools that waited for it go on", "shard", shard)
			}
			delete(blocked, shard)
			for _, k := range holding {
				busy[k] = true
			}
		}
	}
	free := make([]string, 0, len(keys))
	for _, k := range keys {
		if !busy[k] {
			free = append(free, k)
		}
	}
	return free
}

// release sends the held messages of keys to their shards and lets later
// messages of those keys through at once.
func (s *shards) release(keys []string) {
	if len(keys) == 0 {
		return
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	parts := make([][]*bridgev1.Message, len(s.links))
	for _, k := range keys {
		i := shardhash.Owner(k, len(s.links))
		parts[i] = append(parts[i], s.held[k]...)
		delete(s.held, k)
		s.cleared[k] = struct{}{}
	}
	s.mu.Unlock()
	s.submitLocked(parts)
}

// shardConns are the connections to every shard's publishers.
type shardConns struct {
	shards []*publishers
}

func dialShards(dialPeer func(addr string) (*grpc.ClientConn, error), flagValue string) (*shardConns, error) {
	groups, err := publisheraddr.Parse(flagValue)
	if err != nil {
		return nil, err
	}
	c := &shardConns{}
	for _, addrs := range groups {
		p, err := dialPublishers(dialPeer, addrs)
		if err != nil {
			c.close()
			return nil, err
		}
		c.shards = append(c.shards, p)
	}
	return c, nil
}

// links makes one link per shard. The router is serving while any shard
// has an open stream: a shard that is away holds only its own tools,
// and readiness going down would hold every tool.
func (c *shardConns) links(log *slog.Logger, onResult func(*bridgev1.Message, *publisherv1.PublishResult), serving func(bool), connected func(shard string, open bool)) []*publishLink {
	var mu sync.Mutex
	open := make([]bool, len(c.shards))
	links := make([]*publishLink, len(c.shards))
	for i, p := range c.shards {
		shard := strconv.Itoa(i)
		links[i] = relay.NewLink(relay.LinkConfig[*bridgev1.Message, *publisherv1.PublishResult]{
			Name:     fmt.Sprintf("publisher shard %d (%s)", i, strings.Join(p.addrs, ",")),
			Dial:     p.dial,
			ItemID:   (*bridgev1.Message).GetId,
			ResultID: (*publisherv1.PublishResult).GetMessageId,
			OnResult: onResult,
			Log:      log,
			OnConnected: func(o bool) {
				mu.Lock()
				defer mu.Unlock()
				open[i] = o
				connected(shard, o)
				any := false
				for _, o := range open {
					any = any || o
				}
				serving(any)
			},
		})
	}
	return links
}

// holding asks shard's active publisher which of keys it holds messages
// of; its standbys refuse and are passed over.
func (c *shardConns) holding(ctx context.Context, shard int, keys []string) ([]string, error) {
	var err error
	for _, conn := range c.shards[shard].conns {
		callCtx, cancel := context.WithTimeout(ctx, askTimeout)
		var resp *publisherv1.InFlightResponse
		resp, err = publisherv1.NewPublisherServiceClient(conn).InFlight(callCtx, &publisherv1.InFlightRequest{OrderingKeys: keys})
		cancel()
		if err == nil {
			return resp.GetOrderingKeys(), nil
		}
	}
	return nil, fmt.Errorf("no publisher of the shard answered: %w", err)
}

// askTimeout bounds one InFlight question: the answer is a map lookup per
// key, so a slow one means a publisher in trouble, and the next is asked.
const askTimeout = 2 * time.Second

func (c *shardConns) close() {
	for _, p := range c.shards {
		p.close()
	}
}
