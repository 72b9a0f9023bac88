package relay

import (
	"context"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/batch"
)

// Replies is the answering side of a stream: handlers Put answers from any
// goroutine, and Run sends them in batches. Answers put after the stream is
// gone are dropped; the sender resends those items on its next stream.
type Replies[R any] struct {
	ctx context.Context
	ch  chan R
	max int
}

// NewReplies buffers up to size answers and sends at most max per message.
func NewReplies[R any](ctx context.Context, size, max int) *Replies[R] {
	return &Replies[R]{ctx: ctx, ch: make(chan R, size), max: max}
}

// Put queues an answer; it blocks while the buffer is full.
func (r *Replies[R]) Put(v R) {
	select {
	case r.ch <- v:
	case <-r.ctx.Done():
	}
}

// Run sends queued answers with send until the context ends or send fails.
func (r *Replies[R]) Run(send func([]R) error) error {
	return batch.Drain(r.ctx, r.ch, r.max, send)
}
