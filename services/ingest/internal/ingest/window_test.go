package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
)

// settleTime is how long a test waits to be sure that something blocked
// stays blocked: long enough for a goroutine to run, short for the suite.
const settleTime = 50 * time.Millisecond

// waitLimit bounds every wait for something that must happen.
const waitLimit = 10 * time.Second

func entry(id string) source.Entry { return source.Entry{ID: id, Original: "original " + id} }

type roomResult struct {
	room int
	err  error
}

func waitRoomAsync(ctx context.Context, w *window, atLeast int) <-chan roomResult {
	ch := make(chan roomResult, 1)
	go func() {
		room, err := w.waitRoom(ctx, atLeast)
		ch <- roomResult{room, err}
	}()
	return ch
}

// wantBlocked fails the test if the wait got answers within settleTime.
func wantBlocked(t *testing.T, got <-chan roomResult, what string) {
	t.Helper()
	select {
	case r := <-got:
		t.Fatalf("%s: waitRoom returned %d, %v; want it to block", what, r.room, r.err)
	case <-time.After(settleTime):
	}
}

// wantRoom fails the test unless the wait got answers room, nil.
func wantRoom(t *testing.T, got <-chan roomResult, room int, what string) {
	t.Helper()
	select {
	case r := <-got:
		if r.err != nil || r.room != room {
			t.Fatalf("%s: waitRoom = %d, %v; want %d, nil", what, r.room, r.err, room)
		}
	case <-time.After(waitLimit):
		t.Fatalf("%s: waitRoom did not wake", what)
	}
}

func TestWindowWaitRoomReturnsTheFreeRoomAtOnce(t *testing.T) {
	w := newWindow(5, 0)
	w.add(entry("a"))
	room, err := w.waitRoom(context.Background(), 1)
	if err != nil || room != 4 {
		t.Fatalf("waitRoom on a window of 5 holding 1 = %d, %v; want 4, nil", room, err)
	}
}

// A full window stops reading from Redis until an entry is settled.
func TestWindowWaitRoomBlocksWhenFullAndWakesOnRelease(t *testing.T) {
	w := newWindow(2, 0)
	w.add(entry("a"))
	w.add(entry("b"))
	got := waitRoomAsync(context.Background(), w, 1)
	wantBlocked(t, got, "a full window")
	w.release([]source.Entry{entry("a")})
	wantRoom(t, got, 1, "after releasing 1 of 2")
}

// Asked for more room than one entry, a full window wakes only once that
// much is free; a window smaller than that waits until it is empty.
func TestWindowWaitRoomWaitsForTheRoomAskedFor(t *testing.T) {
	w := newWindow(4, 0)
	for _, id := range []string{"a", "b", "c", "d"} {
		w.add(entry(id))
	}
	got := waitRoomAsync(context.Background(), w, 3)
	w.release([]source.Entry{entry("a"), entry("b")})
	wantBlocked(t, got, "3 asked for, 2 free")
	w.release([]source.Entry{entry("c")})
	wantRoom(t, got, 3, "3 asked for, 3 free")
	got = waitRoomAsync(context.Background(), w, 100)
	wantBlocked(t, got, "100 asked for in a window of 4 holding 1")
	w.release([]source.Entry{entry("d")})
	wantRoom(t, got, 4, "100 asked for in an empty window of 4")
}

func TestWindowWaitRoomHonoursCtx(t *testing.T) {
	w := newWindow(1, 0)
	w.add(entry("a"))
	ctx, cancel := context.WithCancel(context.Background())
	got := waitRoomAsync(ctx, w, 1)
	cancel()
	select {
	case r := <-got:
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("waitRoom after ctx's end = %d, %v; want context.Canceled", r.room, r.err)
		}
	case <-time.After(waitLimit):
		t.Fatal("waitRoom on a full window ignored ctx's end")
	}
}

// Releasing entries makes room for exactly those entries, no more: an id
// the window does not hold frees nothing.
func TestWindowReleaseFreesRoomForExactlyTheReleasedEntries(t *testing.T) {
	w := newWindow(3, 0)
	for _, id := range []string{"a", "b", "c"} {
		w.add(entry(id))
	}
	w.release([]source.Entry{entry("a"), entry("c")})
	if n := w.len(); n != 1 {
		t.Fatalf("after releasing 2 of 3, len = %d; want 1", n)
	}
	if room, err := w.waitRoom(context.Background(), 1); err != nil || room != 2 {
		t.Fatalf("after releasing 2 of 3, waitRoom = %d, %v; want 2", room, err)
	}
	if !w.has("b") || w.has("a") || w.has("c") {
		t.Fatalf("has(a, b, c) = %v, %v, %v; want false, true, false", w.has("a"), w.has("b"), w.has("c"))
	}
	w.release([]source.Entry{entry("unknown"), entry("a")})
	if room, _ := w.waitRoom(context.Background(), 1); room != 2 || !w.has("b") {
		t.Fatalf("releasing ids not held changed the window: room %d, has(b) %v", room, w.has("b"))
	}
	// An entry read again while held takes no second place.
	w.add(entry("b"))
	if n := w.len(); n != 1 {
		t.Fatalf("adding a held id again: len = %d; want 1", n)
	}
}

func TestWindowHasAndGet(t *testing.T) {
	w := newWindow(4, 0)
	w.add(source.Entry{ID: "1-0", Original: `{"topic":"t"}`})
	e, ok := w.get("1-0")
	if !ok || e.ID != "1-0" || e.Original != `{"topic":"t"}` {
		t.Fatalf("get(1-0) = %+v, %v; want the entry added", e, ok)
	}
	if !w.has("1-0") {
		t.Fatal("has(1-0) = false after add")
	}
	if _, ok := w.get("2-0"); ok || w.has("2-0") {
		t.Fatal("get/has report an id never added")
	}
	w.release([]source.Entry{e})
	if _, ok := w.get("1-0"); ok || w.has("1-0") {
		t.Fatal("get/has report an id after its release")
	}
}

func TestWindowWaitEmptyReturnsOnceAllReleased(t *testing.T) {
	w := newWindow(4, 0)
	if err := w.waitEmpty(context.Background()); err != nil {
		t.Fatalf("waitEmpty on an empty window = %v", err)
	}
	w.add(entry("a"))
	w.add(entry("b"))
	done := make(chan error, 1)
	go func() { done <- w.waitEmpty(context.Background()) }()
	w.release([]source.Entry{entry("a")})
	select {
	case err := <-done:
		t.Fatalf("waitEmpty returned %v with an entry still in flight", err)
	case <-time.After(settleTime):
	}
	w.release([]source.Entry{entry("b")})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waitEmpty = %v; want nil", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("waitEmpty did not return once every entry was released")
	}
}

func TestWindowWaitEmptyHonoursCtx(t *testing.T) {
	w := newWindow(4, 0)
	w.add(entry("a"))
	ctx, cancel := context.WithTimeout(context.Background(), settleTime)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.waitEmpty(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("waitEmpty past ctx's deadline = %v; want DeadlineExceeded", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("waitEmpty ignored ctx's end")
	}
	if !w.has("a") {
		t.Fatal("waitEmpty's timeout dropped the entry in flight")
	}
}

// Large entries fill the window by their bytes before their number: a
// backlog of big payloads is held in Redis, not in memory.
func TestWindowStopsReadingAtItsBytesAndWakesWhenUnder(t *testing.T) {
	big := func(id string) source.Entry { return source.Entry{ID: id, Original: strings.Repeat("x", 600)} }
	w := newWindow(100, 1000)
	w.add(big("a"))
	if room, err := w.waitRoom(context.Background(), 1); err != nil || room != 99 {
		t.Fatalf("waitRoom under the byte bound = %d, %v; want 99, nil", room, err)
	}
	w.add(big("b")) // one read may pass the bound
	got := waitRoomAsync(context.Background(), w, 1)
	wantBlocked(t, got, "over the byte bound")
	w.release([]source.Entry{big("a")})
	wantRoom(t, got, 99, "back under the byte bound")
	w.release([]source.Entry{big("b"), big("never added")})
	if w.bytes != 0 {
		t.Fatalf("bytes in flight after releasing everything: %d, want 0", w.bytes)
	}
}
