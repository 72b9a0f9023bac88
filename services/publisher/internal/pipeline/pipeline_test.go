package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
)

// wire is a scripted connection: it records what is written, in order, and
// holds every answer until the test gives it.
type wire struct {
	mu         sync.Mutex
	written    []string // topics, in write order
	answers    map[string][]func(error)
	reconnects int
	down       bool      // the connection is down, as the session says
	since      time.Time // when the connection came up, as the session says
	changed    chan struct{}
}

func newWire() *wire {
	return &wire{answers: map[string][]func(error){}, changed: make(chan struct{}, 1000)}
}

func (w *wire) AwaitConnection(context.Context) error { return nil }

func (w *wire) State() mqttsession.State {
	w.mu.Lock()
	defer w.mu.Unlock()
	return mqttsession.State{Connected: !w.down, Since: w.since}
}

func (w *wire) Reconnect() {
	w.mu.Lock()
	w.reconnects++
	w.mu.Unlock()
	w.changed <- struct{}{}
}

func (w *wire) Send(batch []mqttsession.Outgoing) []error {
	w.mu.Lock()
	for _, o := range batch {
		w.written = append(w.written, o.Publish.Topic)
		w.answers[o.Publish.Topic] = append(w.answers[o.Publish.Topic], o.Answer)
	}
	w.mu.Unlock()
	w.changed <- struct{}{}
	return make([]error, len(batch))
}

// answer gives the broker's verdict on the oldest unanswered write of topic.
func (w *wire) answer(t *testing.T, topic string, err error) {
	t.Helper()
	w.mu.Lock()
	q := w.answers[topic]
	if len(q) == 0 {
		w.mu.Unlock()
		t.Fatalf("no write of %s waits for an answer", topic)
	}
	w.answers[topic] = q[1:]
	w.mu.Unlock()
	q[0](err)
}

// waitWritten waits until n writes were made and returns them.
func (w *wire) waitWritten(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		w.mu.Lock()
		got := slices.Clone(w.written)
		w.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-w.changed:
		case <-deadline:
			t.Fatalf("%d writes, want %d: %v", len(got), n, got)
		}
	}
}

// answers records what each message's sender is told, in order.
type answers struct {
	mu   sync.Mutex
	got  []string // "topic" or "topic: error"
	more chan struct{}
}

func newAnswers() *answers { return &answers{more: make(chan struct{}, 1000)} }

func (a *answers) done(topic string) func(error) {
	return func(err error) {
		a.mu.Lock()
		if err != nil {
			topic += ": " + err.Error()
		}
		a.got = append(a.got, topic)
		a.mu.Unlock()
		a.more <- struct{}{}
	}
}

func (a *answers) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		a.mu.Lock()
		got := slices.Clone(a.got)
		a.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-a.more:
		case <-deadline:
			t.Fatalf("%d answers, want %d: %v", len(got), n, got)
		}
	}
}

func (a *answers) now() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.got)
}

func start(t *testing.T, w *wire, o Options) *Pipeline {
	t.Helper()
	if o.Capacity == 0 {
		o.Capacity = 1000
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = 1000
	}
	o.Log = quiet()
	p := New(w, o)
	t.Cleanup(p.Close)
	return p
}

// messages makes n messages of key, topics key/0 … key/n-1.
func messages(ctx context.Context, key string, n int, a *answers) []Message {
	var ms []Message
	for i := range n {
		topic := fmt.Sprintf("%s/%d", key, i)
		ms = append(ms, Message{Ctx: ctx, Key: key, Publish: &paho.Publish{Topic: topic, QoS: 1}, Done: a.done(topic)})
	}
	return ms
}

func topics(key string, from, to int) []string {
	var ts []string
	for i := from; i < to; i++ {
		ts = append(ts, key+"/"+strconv.Itoa(i))
	}
	return ts
}

// A tool's messages are all on the wire before the broker answers the
// first, and their senders hear back in the tool's order whatever order
// the broker answers in.
func TestAToolsMessagesAreInFlightTogetherAndAnsweredInOrder(t *testing.T) {
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{})
	p.Add(t.Context(), messages(t.Context(), "tool:1", 10, a))
	if got := w.waitWritten(t, 10); !slices.Equal(got, topics("tool:1", 0, 10)) {
		t.Fatalf("written %v", got)
	}
	for i := 9; i >= 1; i-- {
		w.answer(t, fmt.Sprintf("tool:1/%d", i), nil)
	}
	time.Sleep(50 * time.Millisecond) // time for a wrong early answer to show
	if got := a.now(); len(got) != 0 {
		t.Fatalf("answered %v before the tool's first message was acknowledged", got)
	}
	w.answer(t, "tool:1/0", nil)
	if got := a.wait(t, 10); !slices.Equal(got, topics("tool:1", 0, 10)) {
		t.Fatalf("answers %v, want the tool's order", got)
	}
}

// The failure injected in the middle of a tool's pipelined messages: the
// broker answers the fifth with a negative PUBACK it may not repeat (0x97,
// quota exceeded) while the ones after it are in flight, and acknowledges
// those. Nothing after the fifth is answered ahead of it; the fifth and
// everything after it are written again, in order, so the tool's last
// message is the last one subscribers get; another tool's messages are not
// held up meanwhile.
func TestANegativeAckMidPipelineResendsTheToolsTailInOrder(t *testing.T) {
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{})
	p.Add(t.Context(), messages(t.Context(), "tool:1", 10, a))
	w.waitWritten(t, 10)
	for i := range 4 {
		w.answer(t, fmt.Sprintf("tool:1/%d", i), nil)
	}
	w.answer(t, "tool:1/4", &mqttsession.NegativeAckError{Code: 0x97})
	for i := 5; i < 10; i++ {
		w.answer(t, fmt.Sprintf("tool:1/%d", i), nil)
	}
	p.Add(t.Context(), messages(t.Context(), "tool:2", 2, a))
	resent := w.waitWritten(t, 10+2+6)[10:]
	w.answer(t, "tool:2/0", nil)
	w.answer(t, "tool:2/1", nil)
	var ofTool1 []string
	for _, topic := range resent {
		if topic[:6] == "tool:1" {
			ofTool1 = append(ofTool1, topic)
		}
	}
	if want := topics("tool:1", 4, 10); !slices.Equal(ofTool1, want) {
		t.Fatalf("written again %v, want %v", ofTool1, want)
	}
	got := a.wait(t, 6)
	if want := append(topics("tool:1", 0, 4), "tool:2/0", "tool:2/1"); !slices.Equal(got, want) {
		t.Fatalf("answers %v, want %v (tool 2 not held up by tool 1)", got, want)
	}
	for i := 4; i < 10; i++ {
		w.answer(t, fmt.Sprintf("tool:1/%d", i), nil)
	}
	if got := a.wait(t, 12)[6:]; !slices.Equal(got, topics("tool:1", 4, 10)) {
		t.Fatalf("answers after the resend %v", got)
	}
}

// A refusal no retry can change (0x87, not authorized) is that message's
// answer, in its place; the tool's other messages go on.
func TestARefusalMidPipelineIsAnsweredInItsPlace(t *testing.T) {
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{})
	p.Add(t.Context(), messages(t.Context(), "tool:1", 3, a))
	w.waitWritten(t, 3)
	w.answer(t, "tool:1/2", nil)
	w.answer(t, "tool:1/1", &mqttsession.NegativeAckError{Code: 0x87})
	w.answer(t, "tool:1/0", nil)
	want := []string{"tool:1/0", "tool:1/1: broker refused the message (reason code 0x87)", "tool:1/2"}
	if got := a.wait(t, 3); !slices.Equal(got, want) {
		t.Fatalf("answers %v, want %v", got, want)
	}
	if got := w.waitWritten(t, 3); len(got) != 3 {
		t.Fatalf("written %v: a refused message is not sent again", got)
	}
}

// A message that can never be sent is answered in its tool's order too.
func TestAnUnsendableMessageIsAnsweredInItsToolsOrder(t *testing.T) {
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{})
	ms := messages(t.Context(), "tool:1", 3, a)
	ms[1].Publish, ms[1].Err = nil, errors.New("not sent")
	p.Add(t.Context(), ms)
	if got := w.waitWritten(t, 2); !slices.Equal(got, []string{"tool:1/0", "tool:1/2"}) {
		t.Fatalf("written %v", got)
	}
	w.answer(t, "tool:1/2", nil)
	time.Sleep(50 * time.Millisecond)
	if got := a.now(); len(got) != 0 {
		t.Fatalf("answered %v ahead of the tool's first message", got)
	}
	w.answer(t, "tool:1/0", nil)
	if got := a.wait(t, 3); !slices.Equal(got, []string{"tool:1/0", "tool:1/1: not sent", "tool:1/2"}) {
		t.Fatalf("answers %v", got)
	}
}

// When the broker comes back without the session, everything in flight is
// sent again at once, in order.
func TestALostSessionSendsTheToolAgainAtOnce(t *testing.T) {
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{})
	p.Add(t.Context(), messages(t.Context(), "tool:1", 3, a))
	w.waitWritten(t, 3)
	for i := range 3 {
		w.answer(t, fmt.Sprintf("tool:1/%d", i), mqttsession.ErrSessionNotKept)
	}
	if got := w.waitWritten(t, 6)[3:]; !slices.Equal(got, topics("tool:1", 0, 3)) {
		t.Fatalf("written again %v", got)
	}
	for i := range 3 {
		w.answer(t, fmt.Sprintf("tool:1/%d", i), nil)
	}
	if got := a.wait(t, 3); !slices.Equal(got, topics("tool:1", 0, 3)) {
		t.Fatalf("answers %v", got)
	}
}

// A message whose sender went away before it was written is dropped
// unanswered (the sender resends it elsewhere) and frees its room.
func TestAMessageOfAGoneSenderIsDroppedAndFreesItsRoom(t *testing.T) {
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{Capacity: 2, MaxInFlight: 1})
	gone, leave := context.WithCancel(t.Context())
	p.Add(gone, messages(gone, "tool:1", 2, a)) // the first is written, the second waits for room in flight
	w.waitWritten(t, 1)
	leave()
	added := make(chan struct{})
	go func() {
		p.Add(t.Context(), messages(t.Context(), "tool:2", 1, a))
		close(added)
	}()
	select {
	case <-added:
		t.Fatal("a third message was taken in while two are held")
	case <-time.After(50 * time.Millisecond):
	}
	w.answer(t, "tool:1/0", nil) // its answer still goes out: harmless to a gone sender
	<-added
	if got := w.waitWritten(t, 2); !slices.Equal(got, []string{"tool:1/0", "tool:2/0"}) {
		t.Fatalf("written %v: the gone sender's unwritten message must be dropped", got)
	}
}

// An answer missing for longer than AckTimeout drops the connection, so
// the session resends what the broker has not answered.
func TestAMissingAnswerReconnects(t *testing.T) {
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{AckTimeout: 100 * time.Millisecond})
	p.Add(t.Context(), messages(t.Context(), "tool:1", 1, a))
	w.waitWritten(t, 1)
	deadline := time.After(5 * time.Second)
	for {
		w.mu.Lock()
		n := w.reconnects
		w.mu.Unlock()
		if n > 0 {
			return
		}
		select {
		case <-w.changed:
		case <-deadline:
			t.Fatal("no reconnect although the broker never answered")
		}
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A broker may hand a QoS 2 message to subscribers only at its PUBREL
// (mosquitto does), so a tool's next message waits for the QoS 2 one's
// answer instead of overtaking it; other tools go on.
func TestAToolsMessageAfterAQoS2OneWaitsForItsAnswer(t *testing.T) {
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{})
	ms := messages(t.Context(), "tool:1", 3, a)
	ms[1].Publish.QoS = 2
	p.Add(t.Context(), ms)
	p.Add(t.Context(), messages(t.Context(), "tool:2", 1, a))
	if got := w.waitWritten(t, 3); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"tool:1/0", "tool:1/1", "tool:2/0"}) {
		t.Fatalf("written %v", got)
	}
	time.Sleep(50 * time.Millisecond)
	if got := w.waitWritten(t, 3); len(got) != 3 {
		t.Fatalf("written %v before the QoS 2 message was answered", got)
	}
	w.answer(t, "tool:1/1", nil)
	if got := w.waitWritten(t, 4); got[3] != "tool:1/2" {
		t.Fatalf("written %v", got)
	}
}

// A message resent at a reconnect is given AckTimeout from the reconnect,
// not from its first write: after a long outage the session's resend is
// not cut short by a second reconnect.
func TestAMessageResentAtAReconnectIsGivenItsTimeFromThere(t *testing.T) {
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{AckTimeout: 200 * time.Millisecond})
	p.Add(t.Context(), messages(t.Context(), "tool:1", 1, a))
	w.waitWritten(t, 1)
	w.mu.Lock()
	w.down = true // the broker goes away with the message in flight
	w.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	w.mu.Lock()
	w.down, w.since = false, time.Now() // back: the session resends it
	w.mu.Unlock()
	time.Sleep(100 * time.Millisecond) // ticks every 50 ms, none due yet
	w.mu.Lock()
	n := w.reconnects
	w.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d reconnects within AckTimeout of the connection's start", n)
	}
}

// Holding names the keys with a message not yet answered, written or not,
// and lets a key go once its last message is answered.
func TestHoldingNamesKeysUntilTheirLastAnswer(t *testing.T) {
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{})
	p.Add(t.Context(), messages(t.Context(), "tool:1", 2, a))
	p.Add(t.Context(), messages(t.Context(), "tool:2", 1, a))
	w.waitWritten(t, 3)
	if got := p.Holding([]string{"tool:1", "tool:2", "tool:3"}); !slices.Equal(got, []string{"tool:1", "tool:2"}) {
		t.Fatalf("Holding = %v, want tool:1 and tool:2", got)
	}
	w.answer(t, "tool:2/0", nil)
	w.answer(t, "tool:1/0", nil)
	a.wait(t, 2)
	if got := p.Holding([]string{"tool:1", "tool:2"}); !slices.Equal(got, []string{"tool:1"}) {
		t.Fatalf("Holding = %v with tool:1's second message unanswered, want tool:1", got)
	}
	w.answer(t, "tool:1/1", nil)
	a.wait(t, 3)
	if got := p.Holding([]string{"tool:1", "tool:2"}); len(got) != 0 {
		t.Fatalf("Holding = %v once everything is answered, want none", got)
	}
}

// A tool's status snapshot waiting unsent is left out when a newer one of
// the same sender comes: the tool's other messages keep their order, the
// newer snapshot goes out in its place, and the replaced ones are answered
// when it is, just before it (ErrReplaced: the broker has the newer one). One already written stays, as does one
// of another sender.
func TestANewerSnapshotTakesTheWaitingOnesPlace(t *testing.T) {
	w, a := newWire(), newAnswers()
	var replaced int
	p := start(t, w, Options{MaxInFlight: 1, Replaced: func() { replaced++ }})
	ctx := t.Context()
	msg := func(ctx context.Context, topic, name string, replaceable bool) Message {
		return Message{Ctx: ctx, Key: "tool:1", Publish: &paho.Publish{Topic: topic, QoS: 1, Retain: replaceable}, Replaceable: replaceable, Done: a.done(name)}
	}
	event := func(n int) Message { return msg(ctx, "tool:1/event", fmt.Sprintf("event %d", n), false) }
	status := func(ctx context.Context, n int) Message {
		return msg(ctx, "tool:1/status", fmt.Sprintf("status %d", n), true)
	}

	p.Add(ctx, []Message{status(ctx, 0)}) // written at once: it stays
	w.waitWritten(t, 1)
	other, cancel := context.WithCancel(ctx)
	defer cancel()
	p.Add(ctx, []Message{event(1), status(ctx, 1), event(2), status(ctx, 2)})
	p.Add(other, []Message{status(other, 3)}) // another sender's
	p.Add(ctx, []Message{event(4), status(ctx, 4)})
	for i, want := range []string{"tool:1/status", "tool:1/event", "tool:1/event", "tool:1/status", "tool:1/event", "tool:1/status"} {
		got := w.waitWritten(t, i+1)
		if got[i] != want {
			t.Fatalf("write %d is %s, want %s (written %v)", i, got[i], want, got)
		}
		w.answer(t, want, nil)
	}
	replacedBy4 := ": " + ErrReplaced.Error()
	want := []string{"status 0", "event 1", "event 2", "status 3", "event 4", "status 1" + replacedBy4, "status 2" + replacedBy4, "status 4"}
	if got := a.wait(t, len(want)); !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
	if got := w.waitWritten(t, 6); len(got) != 6 {
		t.Errorf("written %v: the replaced snapshots went out", got)
	}
	if replaced != 2 {
		t.Errorf("%d replaced, want 2 (statuses 1 and 2)", replaced)
	}
}

// A refusal of the snapshot that took a waiting one's place is the
// replaced one's answer too: neither reached the broker.
func TestARefusedReplacementRefusesTheOneItReplaced(t *testing.T) {
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{MaxInFlight: 1})
	ctx := t.Context()
	status := func(n int) Message {
		return Message{Ctx: ctx, Key: "tool:1", Publish: &paho.Publish{Topic: "tool:1/status", QoS: 1, Retain: true}, Replaceable: true, Done: a.done(fmt.Sprintf("status %d", n))}
	}
	p.Add(ctx, []Message{{Ctx: ctx, Key: "tool:1", Publish: &paho.Publish{Topic: "tool:1/event", QoS: 1}, Done: a.done("event")}, status(1), status(2)})
	w.waitWritten(t, 1)
	w.answer(t, "tool:1/event", nil)
	w.waitWritten(t, 2)
	refused := &mqttsession.NegativeAckError{Code: 0x87}
	w.answer(t, "tool:1/status", refused)
	want := []string{"event", "status 1: " + refused.Error(), "status 2: " + refused.Error()}
	if got := a.wait(t, 3); !slices.Equal(got, want) {
		t.Errorf("answers %v, want %v", got, want)
	}
}

// While messages are in flight, the answers that came are held for those
// still due, so that a burst's answers go on together (each batch of
// answers wakes the router and ingest): they go on the moment nothing is
// in flight, or once the hold is over. A lone message's answer is not
// held.
func TestAnswersWaitForTheRestOfTheirBurst(t *testing.T) {
	ctx := context.Background()
	w, a := newWire(), newAnswers()
	p := start(t, w, Options{AnswerHold: time.Hour})
	p.Add(ctx, append(messages(ctx, "a", 1, a), append(messages(ctx, "b", 1, a), messages(ctx, "c", 1, a)...)...))
	w.waitWritten(t, 3)
	w.answer(t, "a/0", nil)
	w.answer(t, "b/0", nil)
	time.Sleep(50 * time.Millisecond)
	if got := a.now(); len(got) != 0 {
		t.Fatalf("answers went on while c/0 was still in flight: %v", got)
	}
	w.answer(t, "c/0", nil)
	if got := a.wait(t, 3); !slices.Equal(got, []string{"a/0", "b/0", "c/0"}) {
		t.Fatalf("answers %v; want a/0, b/0, c/0", got)
	}

	// Alone in flight, an answer goes on at once, hold or not.
	p.Add(ctx, messages(ctx, "d", 1, a))
	w.waitWritten(t, 4)
	w.answer(t, "d/0", nil)
	a.wait(t, 4)

	// The hold is bounded: with one message still unanswered, the other's
	// answer goes on once the hold is over.
	p2 := start(t, w, Options{AnswerHold: 10 * time.Millisecond})
	p2.Add(ctx, append(messages(ctx, "e", 1, a), messages(ctx, "f", 1, a)...))
	w.waitWritten(t, 6)
	w.answer(t, "e/0", nil)
	if got := a.wait(t, 5); got[4] != "e/0" {
		t.Fatalf("answers %v; want e/0 last, f/0 still in flight", got)
	}
}
