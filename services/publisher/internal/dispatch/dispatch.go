// Package dispatch publishes messages with many in flight while keeping the
// messages of one tool in order: every ordering key always goes to the same
// worker, and a worker publishes one message at a time, retrying it until
// the broker acknowledges it. (autopaho's concurrent Publish calls promise
// no order, and its queue reports no per-message outcome.)
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/backoff"
)

// Broker is the part of the MQTT session a worker needs.
type Broker interface {
	AwaitConnection(ctx context.Context) error
	Publish(ctx context.Context, p *paho.Publish) (*paho.PublishResponse, error)
}

// Job is one message to publish. Done is called once, with nil when the
// broker acknowledged it or with the reason it can never be published. A job
// whose ctx ends first is abandoned without Done: its sender resends it.
type Job struct {
	Ctx     context.Context
	Key     string
	Publish *paho.Publish
	Done    func(err error)
}

// Dispatcher runs the workers.
type Dispatcher struct {
	broker  Broker
	log     *slog.Logger
	observe func(result string, took time.Duration)
	seed    maphash.Seed
	queues  []chan Job
	wg      sync.WaitGroup

	// A stream's receiving goroutine may still call Enqueue after Close;
	// closing marks that, and mu keeps Enqueue off queues being closed.
	closing chan struct{}
	mu      sync.RWMutex
}

// New starts workers publishing through broker. observe is told the result
// ("ok", "refused", "retry") and duration of every attempt.
func New(broker Broker, workers, queueLen int, log *slog.Logger, observe func(string, time.Duration)) *Dispatcher {
	d := &Dispatcher{broker: broker, log: log, observe: observe, seed: maphash.MakeSeed(), closing: make(chan struct{})}
	for range workers {
		q := make(chan Job, queueLen)
		d.queues = append(d.queues, q)
		d.wg.Add(1)
		go d.work(q)
	}
	return d
}

// Enqueue hands a job to the worker of its key. It blocks while that
// worker's queue is full, which slows the stream feeding it. After Close
// the job is dropped: its sender resends it elsewhere.
func (d *Dispatcher) Enqueue(j Job) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	select { // checked first: a select with a send on a closed queue may pick it
	case <-d.closing:
		return
	default:
	}
	q := d.queues[maphash.String(d.seed, j.Key)%uint64(len(d.queues))]
	select {
	case <-d.closing:
	case q <- j:
	case <-j.Ctx.Done():
	}
}

// Close stops the workers once their queues are drained.
func (d *Dispatcher) Close() {
	close(d.closing)
	d.mu.Lock() // no Enqueue is sending any more
	for _, q := range d.queues {
		close(q)
	}
	d.mu.Unlock()
	d.wg.Wait()
}

func (d *Dispatcher) work(q <-chan Job) {
	defer d.wg.Done()
	for j := range q {
		d.publishUntilSettled(j)
	}
}

func (d *Dispatcher) publishUntilSettled(j Job) {
	wait := backoff.New(50*time.Millisecond, 2*time.Second)
	for j.Ctx.Err() == nil {
		if err := d.broker.AwaitConnection(j.Ctx); err != nil {
			return
		}
		start := time.Now()
		err := publish(j.Ctx, d.broker, j.Publish)
		switch {
		case err == nil:
			d.observe("ok", time.Since(start))
			j.Done(nil)
			return
		case isRefusal(err):
			d.observe("refused", time.Since(start))
			d.log.Warn("broker refused a message; it goes to the dead letters", "topic", j.Publish.Topic, "err", err)
			j.Done(err)
			return
		}
		d.observe("retry", time.Since(start))
		delay := wait.Next()
		d.log.Debug("publish not acknowledged; retrying", "topic", j.Publish.Topic, "err", err, "in", delay)
		_ = backoff.Sleep(j.Ctx, delay) // the loop sees the job's end
	}
}

// refusal is a reason code from the broker that a retry cannot change.
type refusal struct {
	code   byte
	reason string
}

func (r refusal) Error() string {
	return fmt.Sprintf("broker refused the message (reason code 0x%02X %s)", r.code, r.reason)
}

// permanent is an error that says itself whether a retry can change it:
// the session's verdict on a message after which the broker keeps dropping
// the connection, which it gives without a PUBACK to read a code from.
type permanent interface{ Permanent() bool }

func isRefusal(err error) bool {
	var r refusal
	var p permanent
	return errors.As(err, &r) || errors.Is(err, paho.ErrInvalidArguments) || errors.As(err, &p) && p.Permanent()
}

// publish sends one message and turns the broker's negative answers into
// errors; paho reports a failed QoS 2 PUBREC as success, so it is checked
// here for both QoS 1 and 2.
func publish(ctx context.Context, b Broker, p *paho.Publish) error {
	resp, err := b.Publish(ctx, p)
	if resp != nil && resp.ReasonCode >= 0x80 {
		if permanentReason(resp.ReasonCode) {
			return refusal{code: resp.ReasonCode, reason: reasonText(resp)}
		}
		return fmt.Errorf("broker answered reason code 0x%02X %s", resp.ReasonCode, reasonText(resp))
	}
	return err
}

func reasonText(resp *paho.PublishResponse) string {
	if resp.Properties != nil && resp.Properties.ReasonString != "" {
		return resp.Properties.ReasonString
	}
	return ""
}

// permanentReason lists the MQTT v5 PUBACK/PUBREC codes that say the message
// itself is unacceptable, rather than the broker being busy.
func permanentReason(code byte) bool {
	switch code {
	case 0x87, // not authorized (ACL)
		0x90, // topic name invalid
		0x95, // packet too large
		0x99: // payload format invalid
		return true
	}
	return false
}
