package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	// BurstNS, in the latency phase, is when the message's burst was
	// handed over: to the bench's writer, which builds the burst's
	// envelopes and XADDs them in one write (SentNS is when its envelope
	// was built), or to the raw client, where the message waits while the
	// client publishes the burst's earlier ones (SentNS is its own publish
	// call). Each side's latency is counted from it, so that both count
	// their own queueing.
	BurstNS int64 `json:"burst_ns,omitempty"`
	// Pad fills the payload to -payload-bytes.
	Pad string `json:"pad,omitempty"`
}

// collector subscribes and records, for each distinct message, when it
// arrived and how long it took since it was written (since its burst was
// handed over, where the probe says).
type collector struct {
	mu        sync.Mutex
	seen      map[[2]int]bool
	latencies []time.Duration
	// fromCall are the latencies from each message's own publish call, of
	// the probes that carry their burst's time too.
	fromCall []time.Duration
	// first and last are when the first and the latest distinct message
	// arrived.
	first, last time.Time
	arrived     chan struct{} // signalled on every new message
	// delivered counts the messages arrived at each QoS (duplicates too).
	delivered [3]atomic.Int64
	// resubscribed counts subscriptions made again after a reconnect.
	resubscribed atomic.Int32
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
	c.delivered[min(p.QoS, 2)].Add(1)
	c.mu.Lock()
	key := [2]int{pr.ToolID, pr.Seq}
	if !c.seen[key] {
		c.seen[key] = true
		from := pr.SentNS
		if pr.BurstNS != 0 {
			from = pr.BurstNS
			c.fromCall = append(c.fromCall, now.Sub(time.Unix(0, pr.SentNS)))
		}
		c.latencies = append(c.latencies, now.Sub(time.Unix(0, from)))
		if len(c.seen) == 1 {
			c.first = now
		}
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
	c.seen, c.latencies, c.fromCall, c.first, c.last = map[[2]int]bool{}, nil, nil, time.Time{}, time.Time{}
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

// firstAt is when the first distinct message arrived.
func (c *collector) firstAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

// count of distinct messages arrived.
func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// deliveredText says at which QoS messages arrived.
func (c *collector) deliveredText() string {
	var parts []string
	for q := range c.delivered {
		if n := c.delivered[q].Load(); n > 0 {
			parts = append(parts, fmt.Sprintf("%d at QoS %d", n, q))
		}
	}
	return strings.Join(parts, ", ")
}

// mean of the recorded latencies.
func (c *collector) mean() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.latencies) == 0 {
		return 0
	}
	var sum time.Duration
	for _, l := range c.latencies {
		sum += l
	}
	return sum / time.Duration(len(c.latencies))
}

// recorded is a copy of the recorded latencies, and of those from each
// message's own publish call (the pipelines': when its envelope was built
// for the XADD).
func (c *collector) recorded() (latencies, fromCall []time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.latencies), slices.Clone(c.fromCall)
}

// percentilesOf sorts l and returns its p50, p99 and max.
func percentilesOf(l []time.Duration) (p50, p99, max time.Duration) {
	if len(l) == 0 {
		return 0, 0, 0
	}
	slices.Sort(l)
	at := func(q float64) time.Duration { return l[min(len(l)-1, int(q*float64(len(l))))] }
	return at(0.50), at(0.99), l[len(l)-1]
}

// subscribe connects a subscriber for filter at the workload's
// subscription QoS and feeds c. After a reconnect (the broker restarted
// and kept no session) it subscribes again and counts it in
// c.resubscribed.
func subscribe(ctx context.Context, w workload, filter string, c *collector) (*autopaho.ConnectionManager, error) {
	subs := []paho.SubscribeOptions{{Topic: filter, QoS: w.subscribeQoS()}}
	var ups atomic.Int32
	cm, err := connect(ctx, w, "bench-sub-"+fmt.Sprint(time.Now().UnixNano()), func(p paho.PublishReceived) (bool, error) {
		c.receive(p.Packet)
		return true, nil
	}, func(cm *autopaho.ConnectionManager) {
		if ups.Add(1) == 1 {
			return // the first subscription is made below
		}
		go func() {
			if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs}); err == nil {
				c.resubscribed.Add(1)
			}
		}()
	})
	if err != nil {
		return nil, err
	}
	if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: subs}); err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", filter, err)
	}
	return cm, nil
}

// connect makes an MQTT client of the workload's broker (TLS when the
// workload has it); onUp, when given, is called on every connection.
func connect(ctx context.Context, w workload, clientID string, onPublish func(paho.PublishReceived) (bool, error), onUp func(*autopaho.ConnectionManager)) (*autopaho.ConnectionManager, error) {
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{w.broker},
		TlsCfg:                        w.tls,
		KeepAlive:                     30,
		CleanStartOnInitialConnection: true,
		ReconnectBackoff:              autopaho.NewConstantBackoff(500 * time.Millisecond),
		ClientConfig:                  paho.ClientConfig{ClientID: clientID},
	}
	if onPublish != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){onPublish}
	}
	if onUp != nil {
		cfg.OnConnectionUp = func(cm *autopaho.ConnectionManager, _ *paho.Connack) { onUp(cm) }
	}
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := cm.AwaitConnection(waitCtx); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", w.broker, err)
	}
	return cm, nil
}
