package router

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/grpc"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/shardhash"
)

type publishLink = relay.Link[*bridgev1.Message, *publisherv1.PublishResult]

// shards is what the router publishes through: one link per publisher
// shard. Each tool belongs to one shard (shardhash of its ordering key),
// whose one MQTT session carries all of the tool's messages, so that
// MQTT's per-connection order is the tool's order. While a shard has no
// open stream (its active publisher is gone and its standby has not taken
// the lease yet), its tools' messages wait in its link, to be sent when
// the stream opens; no other shard publishes them.
type shards struct {
	links []*publishLink
}

func newShards(links ...*publishLink) *shards { return &shards{links: links} }

// Submit hands each message to its tool's shard, in order per shard.
func (s *shards) Submit(msgs []*bridgev1.Message) {
	if len(s.links) == 1 {
		s.links[0].Submit(msgs)
		return
	}
	parts := make([][]*bridgev1.Message, len(s.links))
	for _, m := range msgs {
		i := shardOf(m, len(s.links))
		parts[i] = append(parts[i], m)
	}
	for i, part := range parts {
		s.links[i].Submit(part)
	}
}

// shardOf is the shard of m's tool. A message without an ordering key
// (none is made today) goes by its topic, which keeps a topic's order.
func shardOf(m *bridgev1.Message, n int) int {
	key := m.GetOrderingKey()
	if key == "" {
		key = "topic:" + m.GetTopic()
	}
	return shardhash.Owner(key, n)
}

// Pending is the number of messages not yet answered, over every shard.
func (s *shards) Pending() int {
	n := 0
	for _, l := range s.links {
		n += l.Pending()
	}
	return n
}

// Run keeps every shard's stream open until ctx is cancelled.
func (s *shards) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, l := range s.links {
		wg.Go(func() { _ = l.Run(ctx) })
	}
	wg.Wait()
	return ctx.Err()
}

// parseShards reads -publisher-addr: shards separated by ";", and within
// a shard the addresses of its publishers (the active one and its
// standbys, which refuse streams) separated by ",".
func parseShards(flagValue string) ([][]string, error) {
	var out [][]string
	for i, shard := range strings.Split(flagValue, ";") {
		var addrs []string
		for _, a := range strings.Split(shard, ",") {
			if a = strings.TrimSpace(a); a != "" {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("-publisher-addr: shard %d (counting from 0) names no address; give shards as addr[,standby...][;addr[,standby...]...]", i)
		}
		out = append(out, addrs)
	}
	return out, nil
}

// shardConns are the connections to every shard's publishers.
type shardConns struct {
	shards []*publishers
}

func dialShards(dialPeer func(addr string) (*grpc.ClientConn, error), flagValue string) (*shardConns, error) {
	groups, err := parseShards(flagValue)
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

func (c *shardConns) close() {
	for _, p := range c.shards {
		p.close()
	}
}
