package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// probe is what the benchmark puts in every payload: which message it is
// and when it was written, so the subscriber can tell arrivals and their
// latency apart.
type probe struct {
	ToolID int   `json:"tool_id"`
	Seq    int   `json:"seq"`
	SentNS int64 `json:"sent_ns"`
}

// collector subscribes and records, for each distinct message, when it
// arrived and how long it took since it was written.
type collector struct {
	mu        sync.Mutex
	seen      map[[2]int]bool
	latencies []time.Duration
	last      time.Time
	arrived   chan struct{} // signalled on every new message
}

func newCollector() *collector {
	return &collector{seen: map[[2]int]bool{}, arrived: make(chan struct{}, 1)}
}

func (c *collector) receive(p *paho.Publish) {
	var pr probe
	if json.Unmarshal(p.Payload, &pr) != nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	key := [2]int{pr.ToolID, pr.Seq}
	if !c.seen[key] {
		c.seen[key] = true
		c.latencies = append(c.latencies, now.Sub(time.Unix(0, pr.SentNS)))
		c.last = now
	}
	c.mu.Unlock()
	select {
	case c.arrived <- struct{}{}:
	default:
	}
}

// reset forgets what arrived, between phases.
func (c *collector) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen, c.latencies, c.last = map[[2]int]bool{}, nil, time.Time{}
}

// wait blocks until n distinct messages arrived, or nothing new came for
// stall; it returns the time of the last arrival.
func (c *collector) wait(n int, stall time.Duration) (time.Time, error) {
	timer := time.NewTimer(stall)
	defer timer.Stop()
	for {
		c.mu.Lock()
		got, last := len(c.seen), c.last
		c.mu.Unlock()
		if got >= n {
			return last, nil
		}
		select {
		case <-c.arrived:
			timer.Reset(stall)
		case <-timer.C:
			return last, fmt.Errorf("only %d of %d messages arrived (nothing new for %s)", got, n, stall)
		}
	}
}

// percentiles of the recorded latencies.
func (c *collector) percentiles() (p50, p99, max time.Duration) {
	c.mu.Lock()
	l := slices.Clone(c.latencies)
	c.mu.Unlock()
	if len(l) == 0 {
		return 0, 0, 0
	}
	slices.Sort(l)
	at := func(q float64) time.Duration { return l[min(len(l)-1, int(q*float64(len(l))))] }
	return at(0.50), at(0.99), l[len(l)-1]
}

// subscribe connects a subscriber for filter at QoS 1 and feeds c.
func subscribe(ctx context.Context, broker *url.URL, filter string, c *collector) (*autopaho.ConnectionManager, error) {
	cm, err := connect(ctx, broker, "bench-sub-"+fmt.Sprint(time.Now().UnixNano()), func(p paho.PublishReceived) (bool, error) {
		c.receive(p.Packet)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", filter, err)
	}
	return cm, nil
}

func connect(ctx context.Context, broker *url.URL, clientID string, onPublish func(paho.PublishReceived) (bool, error)) (*autopaho.ConnectionManager, error) {
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{broker},
		KeepAlive:                     30,
		CleanStartOnInitialConnection: true,
		ClientConfig:                  paho.ClientConfig{ClientID: clientID},
	}
	if onPublish != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){onPublish}
	}
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cm.AwaitConnection(waitCtx); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", broker, err)
	}
	return cm, nil
}
