package ingest

import (
	"context"
	"slices"
	"testing"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
)

// An entry ingest refuses (not JSON) is written to the dead letters, and
// only then acknowledged in Redis: acknowledged first, a crash in between
// would lose it without trace.
func TestRefusedEntryIsDeadLetteredBeforeItIsAcknowledged(t *testing.T) {
	h := newHarness(t, 8)
	h.src.atAck = func([]source.Entry) any { return h.deadLetterCount() }
	h.start(t)
	bad := parseableEntries(t, notJSON)[0]

	h.p.forward([]source.Entry{bad})

	if ids := h.src.nextAck(t); !slices.Equal(ids, []string{bad.ID}) {
		t.Fatalf("acknowledged %v; want the refused entry %s", ids, bad.ID)
	}
	calls := h.src.ackCalls()
	if n := calls[0].seen.(int64); n != 1 {
		t.Fatalf("when the refused entry was acknowledged, Redis held %d dead letters; want 1, written before the ack", n)
	}
	if !h.deadLetterHolds(t, notJSON) {
		t.Fatal("the dead letter does not carry the entry as Redis held it")
	}
	eventually(t, "the refused entry leaves the window", func() bool { return !h.p.window.has(bad.ID) })
}

// A refused entry whose dead letter cannot be written (Redis refuses the
// write) is not acknowledged until the write goes through.
func TestRefusedEntryIsNotAcknowledgedWhileItsDeadLetterCannotBeWritten(t *testing.T) {
	h := newHarness(t, 8)
	h.src.atAck = func([]source.Entry) any { return h.deadLetterCount() }
	ctx := context.Background()
	// A string where the dead-letter stream should be: every XADD fails.
	if err := h.rdb.Set(ctx, deadStream, "in the way", 0).Err(); err != nil {
		t.Fatal(err)
	}
	h.start(t)
	bad := parseableEntries(t, notJSON)[0]

	h.p.forward([]source.Entry{bad})
	eventually(t, "the pipeline sees the dead-letter write fail", h.redisFailed)
	if calls := h.src.ackCalls(); len(calls) != 0 {
		t.Fatalf("the entry was acknowledged (%v) although its dead letter was never written", calls)
	}
	if !h.p.window.has(bad.ID) {
		t.Fatal("the entry left the window before its dead letter was written")
	}

	if err := h.rdb.Del(ctx, deadStream).Err(); err != nil {
		t.Fatal(err)
	}
	if ids := h.src.nextAck(t); !slices.Equal(ids, []string{bad.ID}) {
		t.Fatalf("acknowledged %v; want %s", ids, bad.ID)
	}
	if n := h.src.ackCalls()[0].seen.(int64); n != 1 {
		t.Fatalf("at the ack, Redis held %d dead letters; want 1", n)
	}
}

// While Redis refuses the acknowledgement, the entries stay in the window
// (so ingest reads no more than it can account for) and Ack is retried;
// they leave the window once Redis has taken the ack, not before.
func TestEntriesStayInTheWindowUntilRedisTakesTheirAck(t *testing.T) {
	const failures = 3
	h := newHarness(t, 8)
	h.src.failAcks = failures
	h.start(t)
	good := parseableEntries(t, goodA)[0]
	h.src.atAck = func([]source.Entry) any { return h.p.window.has(good.ID) }

	h.p.forward([]source.Entry{good})
	ev := h.router.next(t)
	h.router.answer(ev.GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)

	if ids := h.src.nextAck(t); !slices.Equal(ids, []string{good.ID}) {
		t.Fatalf("acknowledged %v; want %s", ids, good.ID)
	}
	calls := h.src.ackCalls()
	if len(calls) != failures+1 {
		t.Fatalf("Ack was called %d times; want %d failures and a success", len(calls), failures)
	}
	for i, c := range calls {
		if !c.seen.(bool) {
			t.Fatalf("at Ack call %d (err %v) the entry had already left the window", i+1, c.err)
		}
		if !slices.Equal(c.ids, []string{good.ID}) {
			t.Fatalf("Ack call %d carried %v; want the same entry each time", i+1, c.ids)
		}
	}
	eventually(t, "the entry leaves the window after its ack", func() bool { return !h.p.window.has(good.ID) })
	if err := h.p.window.waitEmpty(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// In one batch read from Redis, good entries go to the router and a
// malformed one goes to the dead letters and is acknowledged; the good
// ones are acknowledged only once the router answers for them.
func TestForwardSendsGoodEntriesToTheRouterAndRefusedOnesToTheDeadLetters(t *testing.T) {
	h := newHarness(t, 8)
	h.start(t)
	entries := parseableEntries(t, goodA, notJSON, goodB)
	good := []string{entries[0].ID, entries[2].ID}
	bad := entries[1].ID

	h.p.forward(entries)

	got := []string{h.router.next(t).GetId(), h.router.next(t).GetId()}
	if !slices.Equal(got, good) {
		t.Fatalf("the router received %v; want the good entries %v, in order", got, good)
	}
	if ids := h.src.nextAck(t); !slices.Equal(ids, []string{bad}) {
		t.Fatalf("first acknowledged %v; want only the refused entry %s", ids, bad)
	}
	if n := h.deadLetterCount(); n != 1 {
		t.Fatalf("%d dead letters; want 1", n)
	}
	for _, id := range good {
		if !h.p.window.has(id) {
			t.Fatalf("good entry %s left the window before the router answered", id)
		}
	}

	h.router.answer(good[0], bridgev1.Outcome_OUTCOME_DELIVERED)
	h.router.answer(good[1], bridgev1.Outcome_OUTCOME_FILTERED)
	var acked []string
	for len(acked) < 2 {
		acked = append(acked, h.src.nextAck(t)...)
	}
	slices.Sort(acked)
	want := slices.Sorted(slices.Values(good))
	if !slices.Equal(acked, want) {
		t.Fatalf("acknowledged %v after the router answered; want %v", acked, want)
	}
	if n := h.deadLetterCount(); n != 1 {
		t.Fatalf("%d dead letters after delivered/filtered answers; want still 1", n)
	}
	eventually(t, "the window empties", func() bool { return h.p.window.len() == 0 })
	select {
	case ev := <-h.router.sent:
		t.Fatalf("the router received %s again", ev.GetId())
	default:
	}
}

// An event the router refuses is dead-lettered, then acknowledged.
func TestEventRefusedDownstreamIsDeadLetteredBeforeItIsAcknowledged(t *testing.T) {
	h := newHarness(t, 8)
	h.src.atAck = func([]source.Entry) any { return h.deadLetterCount() }
	h.start(t)
	good := parseableEntries(t, goodA)[0]

	h.p.forward([]source.Entry{good})
	ev := h.router.next(t)
	h.router.answers <- []*bridgev1.EventAck{{EventId: ev.GetId(), Outcome: bridgev1.Outcome_OUTCOME_REJECTED, Cause: bridgev1.Cause_CAUSE_PUBLISH_REFUSED, Reason: "the broker said no"}}

	if ids := h.src.nextAck(t); !slices.Equal(ids, []string{good.ID}) {
		t.Fatalf("acknowledged %v; want %s", ids, good.ID)
	}
	if n := h.src.ackCalls()[0].seen.(int64); n != 1 {
		t.Fatalf("when the refused event was acknowledged, Redis held %d dead letters; want 1", n)
	}
	if !h.deadLetterHolds(t, goodA) {
		t.Fatal("the dead letter does not carry the entry as Redis held it")
	}
}

// An entry Redis hands out again while it is still in flight (a
// redelivery) is not sent to the router a second time.
func TestRedeliveredEntryIsNotForwardedTwice(t *testing.T) {
	h := newHarness(t, 8)
	h.start(t)
	entries := parseableEntries(t, goodA, goodB)
	first, marker := entries[0], entries[1]

	h.p.forward([]source.Entry{first})
	if id := h.router.next(t).GetId(); id != first.ID {
		t.Fatalf("the router received %s; want %s", id, first.ID)
	}
	h.p.forward([]source.Entry{first})
	// The link keeps order: once the marker arrives, a second copy of the
	// first entry would have arrived before it.
	h.p.forward([]source.Entry{marker})
	if id := h.router.next(t).GetId(); id != marker.ID {
		t.Fatalf("after a redelivery the router received %s; want the next entry %s only", id, marker.ID)
	}
	if n := h.p.window.len(); n != 2 {
		t.Fatalf("window holds %d entries; want 2", n)
	}
}

// A malformed entry handed out again before its first copy is settled is
// dead-lettered once.
func TestRedeliveredRefusedEntryIsDeadLetteredOnce(t *testing.T) {
	h := newHarness(t, 8) // the acknowledging loop is not running: nothing settles
	bad := parseableEntries(t, notJSON)[0]

	h.p.forward([]source.Entry{bad})
	h.p.forward([]source.Entry{bad})

	if n := len(h.p.settled); n != 1 {
		t.Fatalf("%d settlements queued for one refused entry read twice; want 1", n)
	}
}

// An answer for an id not in the window (a late duplicate, or an id ingest
// never read) settles nothing.
func TestAnswerForAnIDNotInTheWindowIsIgnored(t *testing.T) {
	h := newHarness(t, 8)
	h.p.window.add(entry("held"))

	h.p.answered(&bridgev1.Event{Id: "ghost"}, &bridgev1.EventAck{EventId: "ghost", Outcome: bridgev1.Outcome_OUTCOME_DELIVERED})
	h.p.answered(&bridgev1.Event{Id: "ghost"}, &bridgev1.EventAck{EventId: "ghost", Outcome: bridgev1.Outcome_OUTCOME_REJECTED, Cause: bridgev1.Cause_CAUSE_INVALID_TOPIC})

	if n := len(h.p.settled); n != 0 {
		t.Fatalf("answers for an unknown id queued %d settlements; want none", n)
	}
	if !h.p.window.has("held") || h.p.window.len() != 1 {
		t.Fatal("answers for an unknown id changed the window")
	}
}

// The window bounds reading: ingest never asks Redis for more entries
// than fit, and asks for none while the window is full.
func TestReadAsksForNoMoreThanTheWindowHolds(t *testing.T) {
	h := newHarness(t, 2)
	h.p.batch = 16
	h.src.give(parseableEntries(t, goodA, goodB, goodC)...)
	h.startReading(t)

	a, b := h.router.next(t), h.router.next(t)
	if h.p.window.len() != 2 {
		t.Fatalf("window holds %d; want 2 (full)", h.p.window.len())
	}
	before := len(h.src.readMaxes())
	time.Sleep(settleTime)
	if after := len(h.src.readMaxes()); after != before {
		t.Fatalf("read from Redis %d times while the window was full", after-before)
	}
	h.router.answer(a.GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	c := h.router.next(t)
	if c.GetId() == b.GetId() || c.GetId() == a.GetId() {
		t.Fatalf("after one ack the router received %s again", c.GetId())
	}
	for i, m := range h.src.readMaxes() {
		if m < 1 || m > 2 {
			t.Fatalf("Read %d asked for %d entries; window is 2", i+1, m)
		}
	}
	h.router.answer(b.GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	h.router.answer(c.GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	eventually(t, "the window empties", func() bool { return h.p.window.len() == 0 })
}

// Under a backlog the window stays full: once it is, reading waits until
// a batch's worth of room is free (at most a quarter of the window), so
// that each read is a full batch rather than whatever one answer freed.
func TestAFullWindowReadsAgainOnlyOnceABatchFits(t *testing.T) {
	h := newHarness(t, 16)
	h.p.batch = 4
	raws := make([]string, 24)
	for i := range raws {
		raws[i] = goodA
	}
	h.src.give(parseableEntries(t, raws...)...)
	h.startReading(t)

	var inFlight []*bridgev1.Event
	for range 16 {
		inFlight = append(inFlight, h.router.next(t))
	}
	for _, ev := range inFlight[:3] {
		h.router.answer(ev.GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	}
	eventually(t, "three answered entries leave the window", func() bool { return h.p.window.len() == 13 })
	reads := len(h.src.readMaxes())
	time.Sleep(settleTime)
	if after := h.src.readMaxes(); len(after) != reads {
		t.Fatalf("read from Redis (asking for %v) with 3 entries of room; want no read before 4 fit", after[reads:])
	}
	h.router.answer(inFlight[3].GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	for range 4 {
		h.router.next(t)
	}
	if after := h.src.readMaxes(); len(after) <= reads || after[reads] != 4 {
		t.Fatalf("reads after the fourth answer asked for %v; want a read of 4", after[reads:])
	}
}

// run stops reading when ctx ends and gives what is in flight its drain
// time; what the router never answered is not acknowledged, so it stays
// in Redis for the next start.
func TestRunLeavesUnansweredEntriesUnacknowledgedAfterTheDrain(t *testing.T) {
	h := newHarness(t, 8)
	entries := parseableEntries(t, goodA, goodB)
	h.src.give(entries...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.p.run(ctx, 100*time.Millisecond) }()

	a, b := h.router.next(t), h.router.next(t)
	h.router.answer(a.GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	if ids := h.src.nextAck(t); !slices.Equal(ids, []string{a.GetId()}) {
		t.Fatalf("acknowledged %v; want %s", ids, a.GetId())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("run did not return after its drain time")
	}
	for _, c := range h.src.ackCalls() {
		if slices.Contains(c.ids, b.GetId()) {
			t.Fatalf("the unanswered entry %s was acknowledged", b.GetId())
		}
	}
}

// run waits for what is in flight to be acknowledged before it returns.
func TestRunDrainsInFlightEntriesBeforeReturning(t *testing.T) {
	h := newHarness(t, 8)
	h.src.give(parseableEntries(t, goodA)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.p.run(ctx, waitLimit) }()

	ev := h.router.next(t)
	cancel()
	select {
	case err := <-done:
		t.Fatalf("run returned (%v) with an entry in flight and drain time left", err)
	case <-time.After(settleTime):
	}
	h.router.answer(ev.GetId(), bridgev1.Outcome_OUTCOME_DELIVERED)
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Fatal("run did not return once the window was empty")
	}
	if calls := h.src.ackCalls(); len(calls) != 1 || !slices.Equal(calls[0].ids, []string{ev.GetId()}) {
		t.Fatalf("Ack calls %v; want one, for %s", calls, ev.GetId())
	}
}

// At shutdown a retry gives up: then the entry must be neither
// acknowledged without its dead letter nor released as if done. It stays
// pending in Redis (and in the window) for the next start.
func TestShutdownDuringADeadLetterOutageAcknowledgesNothing(t *testing.T) {
	h := newHarness(t, 8)
	if err := h.rdb.Set(context.Background(), deadStream, "in the way", 0).Err(); err != nil {
		t.Fatal(err)
	}
	bad := parseableEntries(t, notJSON)[0]
	h.p.window.add(bad)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.p.settle(ctx, []settled{{entry: bad, outcome: "rejected", rejected: &rejected{entry: bad, cause: bridgev1.Cause_CAUSE_NOT_JSON, reason: "test"}}})
	}()
	eventually(t, "the dead-letter write fails", h.redisFailed)
	cancel()
	<-done
	if calls := h.src.ackCalls(); len(calls) != 0 {
		t.Fatalf("acknowledged %v without its dead letter", calls)
	}
	if !h.p.window.has(bad.ID) {
		t.Fatal("the entry left the window although it was never acknowledged")
	}
}

func TestShutdownDuringAnAckOutageReleasesNothing(t *testing.T) {
	h := newHarness(t, 8)
	h.src.failAcks = 1 << 30
	good := parseableEntries(t, goodA)[0]
	h.p.window.add(good)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.p.settle(ctx, []settled{{entry: good, outcome: "delivered"}})
	}()
	eventually(t, "the ack fails", h.redisFailed)
	cancel()
	<-done
	if !h.p.window.has(good.ID) {
		t.Fatal("the entry left the window although Redis never took its ack")
	}
}

// Readiness says Redis is down while acks fail, and up again as soon as
// one is taken, not only at the next successful read.
func TestRedisIsHealthyAgainOnceAnAckIsTaken(t *testing.T) {
	h := newHarness(t, 8)
	h.src.failAcks = 2
	good := parseableEntries(t, goodA)[0]
	h.p.window.add(good)
	h.p.settle(context.Background(), []settled{{entry: good, outcome: "delivered"}})
	if h.redisFailed() {
		t.Fatal("Redis took the ack, yet the pipeline still reports it down")
	}
}
