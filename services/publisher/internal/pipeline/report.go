package pipeline

import "sync"

// reporter tells the senders, on its own goroutine and in the order they
// were put, that their messages are answered: a sender may block (a full
// stream), and the answers come from the connection's reader, which must
// not.
type reporter struct {
	mu     sync.Mutex
	queue  []*entry
	wake   chan struct{}
	closed chan struct{}
	done   chan struct{}
}

func newReporter() *reporter {
	r := &reporter{wake: make(chan struct{}, 1), closed: make(chan struct{}), done: make(chan struct{})}
	go r.run()
	return r
}

func (r *reporter) put(es []*entry) {
	if len(es) == 0 {
		return
	}
	r.mu.Lock()
	r.queue = append(r.queue, es...)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reporter) run() {
	defer close(r.done)
	for {
		select {
		case <-r.wake:
		case <-r.closed:
			return
		}
		r.mu.Lock()
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
