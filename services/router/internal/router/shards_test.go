package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	publisherv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/publisher/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/relay"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/shardhash"
)

// shardOf is the shard m goes to among n.
func shardOf(m *bridgev1.Message, n int) int { return shardhash.Owner(keyOf(m), n) }

// shardPublisher is one shard's publisher: it answers every message at
// once and remembers what it got, in order.
type shardPublisher struct {
	ctx     context.Context
	mu      sync.Mutex
	got     []*bridgev1.Message
	results chan []*publisherv1.PublishResult
}

func (p *shardPublisher) Send(msgs []*bridgev1.Message) error {
	p.mu.Lock()
	p.got = append(p.got, msgs...)
	p.mu.Unlock()
	rs := make([]*publisherv1.PublishResult, len(msgs))
	for i, m := range msgs {
		rs[i] = &publisherv1.PublishResult{MessageId: m.GetId(), Outcome: bridgev1.Outcome_OUTCOME_DELIVERED}
	}
	p.results <- rs
	return nil
}

func (p *shardPublisher) Recv() ([]*publisherv1.PublishResult, error) {
	select {
	case rs := <-p.results:
		return rs, nil
	case <-p.ctx.Done():
		return nil, p.ctx.Err()
	}
}

func (p *shardPublisher) received() []*bridgev1.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

// A shard that is away holds its own tools' messages, and only those; they
// go to it, in order, once it is back, and no other shard ever gets them.
func TestAShardAwayHoldsOnlyItsToolsAndGetsThemBack(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n, tools, perTool = 3, 30, 5
	pubs := make([]*shardPublisher, n)
	back := make(chan struct{}) // shard 1 is away until closed
	var mu sync.Mutex
	answered := map[string]bool{}
	links := make([]*publishLink, n)
	for i := range n {
		pubs[i] = &shardPublisher{ctx: ctx, results: make(chan []*publisherv1.PublishResult, 1024)}
		links[i] = relay.NewLink(relay.LinkConfig[*bridgev1.Message, *publisherv1.PublishResult]{
			Dial: func(context.Context) (relay.Stream[*bridgev1.Message, *publisherv1.PublishResult], error) {
				if i == 1 {
					select {
					case <-back:
					default:
						return nil, errors.New("no active publisher")
					}
				}
				return pubs[i], nil
			},
			ItemID:   (*bridgev1.Message).GetId,
			ResultID: (*publisherv1.PublishResult).GetMessageId,
			OnResult: func(m *bridgev1.Message, _ *publisherv1.PublishResult) {
				mu.Lock()
				answered[m.GetId()] = true
				mu.Unlock()
			},
			Log: testLog(t),
		})
	}
	s := newShards(func(context.Context, int, []string) ([]string, error) { return nil, nil }, testLog(t), links...)
	go func() { _ = s.Run(ctx) }()

	var all []*bridgev1.Message
	for seq := range perTool {
		var batch []*bridgev1.Message
		for tool := range tools {
			batch = append(batch, &bridgev1.Message{
				Id: fmt.Sprintf("%d/%d", tool, seq), OrderingKey: fmt.Sprintf("tool:%d", tool),
				Topic: fmt.Sprintf("nemo/tools/%d/status", tool),
			})
		}
		s.Submit(batch)
		all = append(all, batch...)
	}
	awayTools := 0
	for tool := range tools {
		if shardOf(&bridgev1.Message{OrderingKey: fmt.Sprintf("tool:%d", tool)}, n) == 1 {
			awayTools++
		}
	}
	if awayTools == 0 || awayTools == tools {
		t.Fatalf("shard 1 owns %d of %d tools: the test needs some on each side", awayTools, tools)
	}
	waitFor(t, func() bool { return s.Pending() == awayTools*perTool })
	mu.Lock()
	for _, m := range all {
		if want := shardOf(m, n) != 1; answered[m.GetId()] != want {
			t.Errorf("message %s of shard %d: answered %v while shard 1 is away", m.GetId(), shardOf(m, n), answered[m.GetId()])
		}
	}
	mu.Unlock()

	close(back)
	waitFor(t, func() bool { return s.Pending() == 0 })
	for i, p := range pubs {
		last := map[string]string{}
		for _, m := range p.received() {
			if shardOf(m, n) != i {
				t.Errorf("shard %d got %s, which belongs to shard %d", i, m.GetId(), shardOf(m, n))
			}
			if prev, ok := last[m.GetOrderingKey()]; ok && prev >= m.GetId() {
				t.Errorf("shard %d got %s after %s", i, m.GetId(), prev)
			}
			last[m.GetOrderingKey()] = m.GetId()
		}
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A tool new to the router waits, with everything submitted for it
// meanwhile, until no other shard holds anything of it, or while one
// cannot say; then its messages go to its own shard in order.
func TestANewToolWaitsUntilEveryOtherShardLetItGo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 2
	// A tool shard 1 owns, and that shard 0 still holds.
	key := ""
	for i := 0; key == ""; i++ {
		if k := fmt.Sprintf("tool:%d", i); shardOf(&bridgev1.Message{OrderingKey: k}, n) == 1 {
			key = k
		}
	}
	var mu sync.Mutex
	answer := map[int]error{0: nil}
	stillHeld := true
	ask := func(_ context.Context, shard int, keys []string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		if shard == 1 {
			t.Errorf("shard 1 was asked about %v, which it owns", keys)
		}
		if err := answer[shard]; err != nil {
			return nil, err
		}
		if stillHeld {
			return keys, nil
		}
		return nil, nil
	}
	pubs := make([]*shardPublisher, n)
	links := make([]*publishLink, n)
	for i := range n {
		pubs[i] = &shardPublisher{ctx: ctx, results: make(chan []*publisherv1.PublishResult, 1024)}
		links[i] = relay.NewLink(relay.LinkConfig[*bridgev1.Message, *publisherv1.PublishResult]{
			Dial: func(context.Context) (relay.Stream[*bridgev1.Message, *publisherv1.PublishResult], error) {
				return pubs[i], nil
			},
			ItemID:   (*bridgev1.Message).GetId,
			ResultID: (*publisherv1.PublishResult).GetMessageId,
			OnResult: func(*bridgev1.Message, *publisherv1.PublishResult) {},
			Log:      testLog(t),
		})
	}
	s := newShards(ask, testLog(t), links...)
	go func() { _ = s.Run(ctx) }()
	msg := func(i int) *bridgev1.Message {
		return &bridgev1.Message{Id: fmt.Sprintf("%02d", i), OrderingKey: key, Topic: "t"}
	}
	s.Submit([]*bridgev1.Message{msg(0), msg(1)})
	time.Sleep(100 * time.Millisecond) // a wrong early release would show
	s.Submit([]*bridgev1.Message{msg(2)})
	if got := len(pubs[0].received()) + len(pubs[1].received()); got != 0 || s.Held() != 1 || s.Pending() != 3 {
		t.Fatalf("while shard 0 holds the tool: %d sent, %d tools held, %d pending; want 0, 1, 3", got, s.Held(), s.Pending())
	}
	mu.Lock()
	stillHeld, answer[0] = false, errors.New("no active publisher")
	mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	if got := len(pubs[1].received()); got != 0 {
		t.Fatalf("%d messages sent while shard 0 could not answer", got)
	}
	mu.Lock()
	answer[0] = nil
	mu.Unlock()
	waitFor(t, func() bool { return s.Held() == 0 })
	s.Submit([]*bridgev1.Message{msg(3)})
	waitFor(t, func() bool { return s.Pending() == 0 })
	var ids []string
	for _, m := range pubs[1].received() {
		ids = append(ids, m.GetId())
	}
	if want := []string{"00", "01", "02", "03"}; !slices.Equal(ids, want) || len(pubs[0].received()) != 0 {
		t.Fatalf("shard 1 got %v and shard 0 %d messages; want %v and none", ids, len(pubs[0].received()), want)
	}
}

// blockingPublisher takes no message until unblocked, as a publisher
// applying flow control.
type blockingPublisher struct {
	shardPublisher
	unblock chan struct{}
}

func (p *blockingPublisher) Send(msgs []*bridgev1.Message) error {
	<-p.unblock
	return p.shardPublisher.Send(msgs)
}

// A metrics scrape reads Pending and Held while a shard's stream is held
// by flow control: it must not wait for it.
func TestPendingDoesNotWaitForAShardUnderFlowControl(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pubs := make([]*blockingPublisher, 2)
	links := make([]*publishLink, 2)
	for i := range pubs {
		pubs[i] = &blockingPublisher{shardPublisher{ctx: ctx, results: make(chan []*publisherv1.PublishResult, 16)}, make(chan struct{})}
		links[i] = relay.NewLink(relay.LinkConfig[*bridgev1.Message, *publisherv1.PublishResult]{
			Dial: func(context.Context) (relay.Stream[*bridgev1.Message, *publisherv1.PublishResult], error) {
				return pubs[i], nil
			},
			ItemID:   (*bridgev1.Message).GetId,
			ResultID: (*publisherv1.PublishResult).GetMessageId,
			OnResult: func(*bridgev1.Message, *publisherv1.PublishResult) {},
			Log:      testLog(t),
		})
	}
	s := newShards(func(context.Context, int, []string) ([]string, error) { return nil, nil }, testLog(t), links...)
	go func() { _ = s.Run(ctx) }()
	waitFor(t, func() bool { return links[0].Pending() == 0 }) // the streams open
	time.Sleep(50 * time.Millisecond)
	s.Submit([]*bridgev1.Message{{Id: "1", OrderingKey: "tool:1", Topic: "t"}, {Id: "2", OrderingKey: "tool:2", Topic: "t"}})
	time.Sleep(100 * time.Millisecond) // released, and stuck in Send
	done := make(chan int)
	go func() { done <- s.Pending() + s.Held() }()
	select {
	case n := <-done:
		if n != 2 {
			t.Errorf("Pending+Held = %d, want the 2 messages stuck in flow control", n)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Pending waited for a link blocked by flow control")
	}
	for _, p := range pubs {
		close(p.unblock)
	}
}
