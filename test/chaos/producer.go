package chaos

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// producer writes good events at a steady rate, as NEMO does, and keeps
// writing through a Redis outage: an event counts as sent only once Redis
// has taken it, and a batch is written in one MULTI so that a failure
// leaves it all or nothing.
type producer struct {
	cancel context.CancelFunc
	done   chan sent
	mu     sync.Mutex
	queue  []string // hostile entries to slip in between good ones
}

type sent struct {
	good    int // good events Redis took, numbered per tool from 0
	hostile int
}

const tick = 10 * time.Millisecond

func startProducer(ctx context.Context, r *harness.Redis, rate, tools int) *producer {
	ctx, cancel := context.WithCancel(ctx)
	p := &producer{cancel: cancel, done: make(chan sent, 1)}
	go p.run(ctx, r.Client(1), rate, tools)
	return p
}

// slipIn queues hostile entries for the next batch.
func (p *producer) slipIn(entries []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = append(p.queue, entries...)
}

// stop ends production and says what Redis took.
func (p *producer) stop() sent {
	p.cancel()
	return <-p.done
}

func (p *producer) run(ctx context.Context, rdb *redis.Client, rate, tools int) {
	defer rdb.Close()
	var s sent
	defer func() { p.done <- s }()
	perTick := max(1, rate*int(tick)/int(time.Second))
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		hostile := p.queue
		p.queue = nil
		p.mu.Unlock()
		batch := make([]string, perTick)
		for i := range batch {
			n := s.good + i
			batch[i] = harness.TestEvent{ToolID: n % tools, Seq: n / tools}.Envelope()
		}
		for ctx.Err() == nil {
			_, err := rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				for _, e := range append(batch, hostile...) {
					pipe.XAdd(ctx, &redis.XAddArgs{Stream: "nemo:events", Values: []any{"event", e}})
				}
				return nil
			})
			if err == nil {
				s.good += len(batch)
				s.hostile += len(hostile)
				break
			}
			time.Sleep(100 * time.Millisecond) // Redis is down: keep the batch and try again
		}
	}
}
