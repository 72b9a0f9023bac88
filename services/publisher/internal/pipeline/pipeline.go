// Package pipeline publishes many messages at once on the one MQTT
// connection and still answers for each tool's messages in order.
//
// A single writer sends every message (autopaho's concurrent Publish calls
// have no order on the wire), round robin over the tools with something to
// send, without waiting for the broker's answers: MQTT keeps one
// connection's messages in order, and the session resends what is in
// flight, in order, after a reconnect. Each message is answered to its
// sender only once every earlier message of its tool is answered: a tool's
// answers form a leading run. A negative or missing acknowledgement sends
// the message and everything after it of its tool again, in order, so a
// subscriber ends on the tool's last message even when it saw a later one
// first (subscribers drop duplicates by event_id).
package pipeline

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/backoff"
	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
)

// Sender is the part of the MQTT session the pipeline needs.
type Sender interface {
	AwaitConnection(ctx context.Context) error
	// Send writes the batch now, in order after every earlier batch; each
	// message's Answer is called once with the broker's verdict (nil: the
	// broker has it), unless its error in errs says it was not sent.
	Send(batch []mqttsession.Outgoing) (errs []error)
	// Reconnect drops the connection; the session resends what it holds.
	Reconnect()
	// State says whether the connection is up, and since when.
	State() mqttsession.State
}

// maxBatch bounds the messages written together: enough to take a system
// call off most messages under load, few enough that the first of a batch
// does not wait long for the last to be encoded.
const maxBatch = 64

// Message is one message to publish.
type Message struct {
	// Ctx is its sender's: once it ends, a message not yet written is
	// dropped unanswered (the sender resends it elsewhere).
	Ctx     context.Context
	Key     string // messages with one key are answered in order
	Publish *paho.Publish
	// Err, when set, is the message's verdict without sending it (it can
	// never be published); it is still answered in its key's order.
	Err error
	// Replaceable lets a later replaceable message of the same sender,
	// key and topic take this one's place while it waits unsent (see
	// Add): a tool's status snapshot, which a newer one makes needless.
	Replaceable bool
	// Done is called once, with nil when the broker acknowledged the
	// message or with the reason it can never be published.
	Done func(error)
}

// ErrReplaced is the answer of a message a newer one replaced (see
// replace) once the newer one was acknowledged: nothing of it reached the
// broker, but the newer one holds all it said. Were the newer one refused,
// the replaced one gets that refusal instead.
var ErrReplaced = errors.New("replaced by a newer message, which the broker has")

// Options size the pipeline.
type Options struct {
	// Capacity bounds the messages held at once, sent or not; Add blocks
	// beyond it, which slows the streams feeding the pipeline.
	Capacity int
	// MaxInFlight bounds the messages written and not yet answered (the
	// broker's Receive Maximum bounds them too).
	MaxInFlight int
	// AckTimeout is how long an answer may be missing on a connection
	// before the connection is dropped, to have the session resend.
	AckTimeout time.Duration
	Log        *slog.Logger
	// Attempt is told the result ("ok", "refused", "retry") of every
	// answer, and the time since the message was written.
	Attempt func(result string, took time.Duration)
	// Queued is told, for every message, the time from Add to its first
	// write.
	Queued func(took time.Duration)
	// Replaced is told of every message left out for a later one that
	// took its place.
	Replaced func()
	// AnswerHold is how long answers may wait for the answers of the
	// messages still in flight, to go on together (see report.go); 0 is
	// holdLongest.
	AnswerHold time.Duration
}

// Pipeline runs the writer.
type Pipeline struct {
	send Sender
	o    Options

	mu    sync.Mutex
	cond  *sync.Cond // the writer and Add wait on it
	tools map[string]*tool
	// ready is the tools with a message to write now, in turn.
	ready    []*tool
	held     int // messages added and not yet answered or dropped
	inFlight int // messages written and not yet answered
	closed   bool

	reports *reporter
	// ctx ends at Close; stopped is closed once the writer returned.
	ctx     context.Context
	cancel  context.CancelFunc
	stopped chan struct{}
}

// tool is one key's messages, oldest first, until each is answered.
type tool struct {
	key     string
	entries []*entry
	// next is the first entry not yet written in the current pass.
	next    int
	waiting bool // a retry is pending: nothing is written until it is due
	inReady bool
	retry   *backoff.Backoff
}

type entry struct {
	msg      Message
	tool     *tool
	added    time.Time
	written  time.Time // of the latest write, zero before the first
	attempt  uint64    // an answer to an older attempt is ignored
	answered bool
	err      error
}

// New starts the writer. Close stops it.
func New(send Sender, o Options) *Pipeline {
	p := &Pipeline{send: send, o: o, tools: map[string]*tool{}, reports: newReporter(cmp.Or(o.AnswerHold, holdLongest)), stopped: make(chan struct{})}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.cond = sync.NewCond(&p.mu)
	go p.write()
	go p.watch()
	return p
}

// Add takes messages in, in order. It blocks while the pipeline is full
// and returns early, dropping the rest, once ctx ends or the pipeline is
// closed. A replaceable message takes the place of the one it replaces
// if that one still waits unsent (see replace).
func (p *Pipeline) Add(ctx context.Context, msgs []Message) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range msgs {
		if !p.roomFor(ctx) {
			return
		}
		t := p.tools[m.Key]
		if t == nil {
			t = &tool{key: m.Key}
			p.tools[m.Key] = t
		}
		e := &entry{msg: m, tool: t, added: now}
		if m.Replaceable && m.Err == nil {
			p.replace(t, e)
		}
		t.entries = append(t.entries, e)
		p.held++
		if m.Err != nil {
			e.answered, e.err = true, m.Err
			p.report(p.leadingRun(t))
			continue
		}
		p.makeReady(t)
	}
	p.cond.Broadcast()
}

// replace takes out of t the message e replaces, if one waits: replaceable,
// from the same sender, on the same topic at the same QoS and retain
// flag, and never written. Once e is answered, so is it, with e's answer
// (ErrReplaced when the broker has e), before e. The messages between the
// two then go out before the one that replaces it: what a subscriber of
// the topic sees skips the replaced one and is still in order. Under load
// this leaves out most of a backlog's snapshots; a message written once is
// never taken out, as the broker may have it already. p.mu is held.
func (p *Pipeline) replace(t *tool, e *entry) {
	for i := len(t.entries) - 1; i >= t.next; i-- {
		old := t.entries[i]
		if !old.msg.Replaceable || old.msg.Err != nil || !old.written.IsZero() || old.msg.Ctx != e.msg.Ctx ||
			old.msg.Publish.Topic != e.msg.Publish.Topic || old.msg.Publish.QoS != e.msg.Publish.QoS || old.msg.Publish.Retain != e.msg.Publish.Retain {
			continue
		}
		replaced, own := old.msg.Done, e.msg.Done
		e.msg.Done = func(err error) {
			replaced(cmp.Or(err, ErrReplaced))
			own(err)
		}
		t.entries = slices.Delete(t.entries, i, i+1)
		p.held--
		if p.o.Replaced != nil {
			p.o.Replaced()
		}
		return
	}
}

// Holding returns those of keys that have messages here not yet answered:
// queued, being retried, or written and awaiting the broker. A message of
// a gone stream counts until the writer drops it, which errs on the safe
// side for a router waiting for a key to be let go.
func (p *Pipeline) Holding(keys []string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var held []string
	for _, k := range keys {
		if t := p.tools[k]; t != nil && len(t.entries) > 0 {
			held = append(held, k)
		}
	}
	return held
}

// roomFor waits until one more message fits; p.mu is held.
func (p *Pipeline) roomFor(ctx context.Context) bool {
	if p.held < p.o.Capacity {
		return !p.closed && ctx.Err() == nil
	}
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop()
	for p.held >= p.o.Capacity && !p.closed && ctx.Err() == nil {
		p.cond.Wait()
	}
	return !p.closed && ctx.Err() == nil
}

// makeReady queues t for the writer if it has something to write; p.mu is
// held.
func (p *Pipeline) makeReady(t *tool) {
	if !t.inReady && !t.waiting && t.next < len(t.entries) {
		t.inReady = true
		p.ready = append(p.ready, t)
	}
}

// Close stops the writer. Messages not yet answered are abandoned: their
// senders resend them.
func (p *Pipeline) Close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.cancel()
	<-p.stopped
	p.reports.close()
}

// write is the one writer.
func (p *Pipeline) write() {
	defer close(p.stopped)
	unconnected := backoff.New(10*time.Millisecond, time.Second)
	var batch []sending
	var out []mqttsession.Outgoing
	for {
		if err := p.send.AwaitConnection(p.ctx); err != nil {
			return
		}
		if batch = p.next(batch[:0]); len(batch) == 0 {
			return
		}
		out = out[:0]
		for _, s := range batch {
			out = append(out, mqttsession.Outgoing{Ctx: s.e.msg.Ctx, Publish: s.e.msg.Publish, Key: s.e.msg.Key, Answer: s.answer(p)})
		}
		lost := false
		for i, err := range p.send.Send(out) {
			if err != nil {
				p.answered(batch[i].e, batch[i].attempt, err)
				lost = lost || !permanent(err)
			}
		}
		if !lost {
			unconnected.Reset()
			continue
		}
		// The connection went down under the writer (or a sender gave
		// up); autopaho may not have noticed yet, so AwaitConnection
		// could return at once.
		_ = backoff.Sleep(p.ctx, unconnected.Next())
	}
}

// sending is one attempt of an entry.
type sending struct {
	e       *entry
	attempt uint64
}

func (s sending) answer(p *Pipeline) func(error) {
	return func(err error) { p.answered(s.e, s.attempt, err) }
}

// next waits for messages to write and marks up to maxBatch of them
// written, appending them to batch; none once the pipeline is closed.
func (p *Pipeline) next(batch []sending) []sending {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.closed {
			return batch[:0]
		}
		for len(batch) < maxBatch && p.inFlight < p.o.MaxInFlight && len(p.ready) > 0 {
			t := p.ready[0]
			p.ready = p.ready[1:]
			t.inReady = false
			e := t.entries[t.next]
			if e.msg.Err != nil { // answered already, never sent
				t.next++
				p.makeReady(t)
				continue
			}
			if e.msg.Ctx.Err() != nil { // its sender is gone and resends it
				p.drop(t, t.next)
				p.makeReady(t)
				continue
			}
			if t.afterExactlyOnce() { // out of the turn until that answer
				continue
			}
			t.next++
			p.makeReady(t) // behind the other tools: round robin
			now := time.Now()
			if e.written.IsZero() && p.o.Queued != nil {
				p.o.Queued(now.Sub(e.added))
			}
			e.written = now
			e.attempt++
			p.inFlight++
			batch = append(batch, sending{e, e.attempt})
		}
		if len(batch) > 0 {
			return batch
		}
		p.cond.Wait()
	}
}

// afterExactlyOnce reports whether t's next message must wait for the QoS
// 2 message written before it: a broker may hand a QoS 2 message to
// subscribers only once it is released (PUBREL), as mosquitto does, so a
// message written after it would overtake it. MQTT orders a connection's
// messages per topic and QoS only.
func (t *tool) afterExactlyOnce() bool {
	if t.next == 0 {
		return false
	}
	prev := t.entries[t.next-1]
	return prev.msg.Publish != nil && prev.msg.Publish.QoS == 2 && !prev.answered
}

// drop removes t's entry i, never written in this pass; p.mu is held.
func (p *Pipeline) drop(t *tool, i int) {
	t.entries = append(t.entries[:i], t.entries[i+1:]...)
	p.held--
	p.forgetIfEmpty(t)
	p.cond.Broadcast()
}

func (p *Pipeline) forgetIfEmpty(t *tool) {
	if len(t.entries) == 0 && !t.waiting && !t.inReady {
		delete(p.tools, t.key)
	}
}

// answered records the verdict on attempt of e.
func (p *Pipeline) answered(e *entry, attempt uint64, err error) {
	p.mu.Lock()
	p.inFlight--
	p.cond.Broadcast()
	if e.attempt != attempt {
		p.report(nil)
		p.mu.Unlock()
		return
	}
	took := time.Since(e.written)
	t := e.tool
	var settled []*entry
	defer func() {
		p.report(settled) // under p.mu: a tool's answers go out in order
		p.mu.Unlock()
	}()
	switch {
	case err == nil:
		p.observe("ok", took)
		e.answered = true
		if t.retry != nil {
			t.retry.Reset()
		}
		settled = p.leadingRun(t)
		p.makeReady(t) // a message held behind a QoS 2 one may go
	case permanent(err):
		p.observe("refused", took)
		p.o.Log.Warn("broker refused a message; it goes to the dead letters", "topic", e.msg.Publish.Topic, "err", err)
		e.answered, e.err = true, err
		settled = p.leadingRun(t)
		p.makeReady(t)
	default:
		p.observe("retry", took)
		p.rewind(e, err)
	}
}

// report hands settled entries to the reporter with whether messages are
// still in flight, whose answers it may hold them for; p.mu is held.
func (p *Pipeline) report(settled []*entry) { p.reports.put(settled, p.inFlight > 0) }

func (p *Pipeline) observe(result string, took time.Duration) {
	if p.o.Attempt != nil {
		p.o.Attempt(result, took)
	}
}

// leadingRun takes t's answered messages off its front, in order, for
// their senders to be told; p.mu is held.
func (p *Pipeline) leadingRun(t *tool) []*entry {
	n := 0
	for n < len(t.entries) && t.entries[n].answered {
		n++
	}
	if n == 0 {
		return nil
	}
	run := t.entries[:n:n]
	t.entries = t.entries[n:]
	t.next = max(t.next-n, 0) // an entry answered without a write may lead
	p.held -= n
	p.forgetIfEmpty(t)
	return run
}

// rewind sends e and every later message of its tool again, in order,
// after a pause when the broker said no; answers to what was sent before
// are ignored from now on. p.mu is held.
func (p *Pipeline) rewind(e *entry, why error) {
	t := e.tool
	i := 0
	for t.entries[i] != e {
		i++
	}
	for _, later := range t.entries[i:] {
		later.attempt++
		later.answered = later.msg.Err != nil
	}
	t.next = i
	delay := time.Duration(0)
	if retryLater(why) {
		if t.retry == nil {
			t.retry = backoff.New(50*time.Millisecond, 2*time.Second)
		}
		delay = t.retry.Next()
	}
	p.o.Log.Debug("publish not acknowledged; sending it and the rest of its tool again", "topic", e.msg.Publish.Topic, "err", why, "resent", len(t.entries)-i, "in", delay)
	if delay == 0 {
		p.makeReady(t)
		return
	}
	if t.inReady { // it leaves the turn until the pause is over
		for j, r := range p.ready {
			if r == t {
				p.ready = append(p.ready[:j], p.ready[j+1:]...)
				break
			}
		}
		t.inReady = false
	}
	t.waiting = true
	time.AfterFunc(delay, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		t.waiting = false
		p.makeReady(t)
		p.forgetIfEmpty(t)
		p.cond.Broadcast()
	})
}
