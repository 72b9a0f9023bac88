package pipeline

import (
	"sync"
	"time"
)

// A burst's messages are answered by the broker one after the other, and
// the answers reach the reader a few at a time. Each batch of answers the
// reporter hands on becomes a message to the router, which hands it on to
// ingest, which acknowledges it in Redis: every batch wakes three
// processes. So while messages are still in flight, whose answers will
// follow, the reporter holds what it has, for Options.AnswerHold (by
// default holdLongest) at most and up to holdMost answers; it hands them
// on as soon as nothing is in flight. A lone message's answer is never
// held.
const (
	holdLongest = time.Millisecond
	holdMost    = 256
)

// reporter tells the senders, on its own goroutine and in the order they
// were put, that their messages are answered: a sender may block (a full
// stream), and the answers come from the connection's reader, which must
// not.
type reporter struct {
	mu    sync.Mutex
	queue []*entry
	// since is when the oldest queued answer was put; due says whether
	// messages were in flight at the latest put, so that more answers
	// will follow.
	since  time.Time
	due    bool
	hold   time.Duration
	wake   chan struct{}
	closed chan struct{}
	done   chan struct{}
}

func newReporter(hold time.Duration) *reporter {
	r := &reporter{hold: hold, wake: make(chan struct{}, 1), closed: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

// put queues settled entries; due says whether messages are still in
// flight. It is called on every answer, settling entries or not, so that
// the last answer of a burst hands on what is held.
func (r *reporter) put(es []*entry, due bool) {
	r.mu.Lock()
	if len(r.queue) == 0 {
		r.since = time.Now()
	}
	r.queue = append(r.queue, es...)
	r.due = due
	r.mu.Unlock()
	if len(es) == 0 && due {
		return // nothing new, and nothing to hand on yet
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reporter) run() {
	defer close(r.done)
	timer := time.NewTimer(r.hold)
	timer.Stop()
	for {
		select {
		case <-r.wake:
		case <-timer.C:
		case <-r.closed:
			return
		}
		r.mu.Lock()
		if r.due && len(r.queue) < holdMost {
			if wait := r.hold - time.Since(r.since); wait > 0 {
				r.mu.Unlock()
				timer.Reset(wait)
				continue
			}
		}
		batch := r.queue
		r.queue = nil
		r.mu.Unlock()
		for _, e := range batch {
			e.msg.Done(e.err)
		}
	}
}

// close stops telling; answers still queued are abandoned with the
// pipeline.
func (r *reporter) close() {
	close(r.closed)
	<-r.done
}
