package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// flakyBroker fails every other attempt and records what it accepted.
type flakyBroker struct {
	mu       sync.Mutex
	attempts map[string]int
	accepted []string
	refuse   string
}

func (b *flakyBroker) AwaitConnection(context.Context) error { return nil }

func (b *flakyBroker) Publish(_ context.Context, p *paho.Publish) (*paho.PublishResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Topic == b.refuse {
		return &paho.PublishResponse{ReasonCode: 0x87}, errors.New("not authorized")
	}
	b.attempts[string(p.Payload)]++
	if b.attempts[string(p.Payload)]%2 == 1 {
		return nil, errors.New("connection lost")
	}
	b.accepted = append(b.accepted, p.Topic+" "+string(p.Payload))
	return &paho.PublishResponse{}, nil
}

func TestEachKeyStaysInOrderAcrossRetries(t *testing.T) {
	b := &flakyBroker{attempts: map[string]int{}}
	d := New(b, 4, 8, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string, time.Duration) {})
	var wg sync.WaitGroup
	for i := range 30 {
		key := fmt.Sprint(i % 3)
		wg.Add(1)
		d.Enqueue(Job{Ctx: context.Background(), Key: key, Publish: &paho.Publish{Topic: key, Payload: []byte(fmt.Sprint(i))}, Done: func(err error) {
			if err != nil {
				t.Errorf("message %d: %v", i, err)
			}
			wg.Done()
		}})
	}
	wg.Wait()
	d.Close()
	last := map[string]int{}
	for _, a := range b.accepted {
		var key string
		var n int
		fmt.Sscan(a, &key, &n)
		if prev, ok := last[key]; ok && n < prev {
			t.Fatalf("key %s: message %d accepted after %d", key, n, prev)
		}
		last[key] = n
	}
	if len(b.accepted) != 30 {
		t.Fatalf("accepted %d messages, want 30", len(b.accepted))
	}
}

func TestRefusedMessageIsReportedNotRetried(t *testing.T) {
	b := &flakyBroker{attempts: map[string]int{}, refuse: "forbidden"}
	d := New(b, 1, 1, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string, time.Duration) {})
	defer d.Close()
	got := make(chan error, 1)
	d.Enqueue(Job{Ctx: context.Background(), Key: "k", Publish: &paho.Publish{Topic: "forbidden"}, Done: func(err error) { got <- err }})
	select {
	case err := <-got:
		if !isRefusal(err) {
			t.Fatalf("err = %v, want a refusal", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a refused message was retried instead of reported")
	}
}

func TestAbandonedJobIsNotPublished(t *testing.T) {
	b := &flakyBroker{attempts: map[string]int{}}
	d := New(b, 1, 1, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string, time.Duration) {})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d.Enqueue(Job{Ctx: ctx, Key: "k", Publish: &paho.Publish{Topic: "t"}, Done: func(error) { t.Error("Done called for an abandoned job") }})
	d.Close()
	if len(b.accepted) != 0 {
		t.Fatalf("accepted %v", b.accepted)
	}
}

// A stream's receiving goroutine may outlive the shutdown by a moment: its
// Enqueue after Close drops the job rather than panicking.
func TestEnqueueAfterCloseDropsTheJob(t *testing.T) {
	b := &flakyBroker{attempts: map[string]int{}}
	d := New(b, 2, 1, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string, time.Duration) {})
	d.Close()
	d.Enqueue(Job{Ctx: context.Background(), Key: "k", Publish: &paho.Publish{Topic: "t"}, Done: func(error) { t.Error("Done called after Close") }})
}

// verdict is an error that says it is permanent, as the session's verdict
// on a message after which the broker drops the connection does.
type verdict struct{}

func (verdict) Error() string   { return "broker_disconnects" }
func (verdict) Permanent() bool { return true }

// hangUpBroker gives that verdict on one topic and takes the rest.
type hangUpBroker struct {
	mu       sync.Mutex
	attempts map[string]int
}

func (b *hangUpBroker) AwaitConnection(context.Context) error { return nil }

func (b *hangUpBroker) Publish(_ context.Context, p *paho.Publish) (*paho.PublishResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.attempts[p.Topic]++
	if p.Topic == "poison" {
		return nil, fmt.Errorf("publish: %w", verdict{})
	}
	return &paho.PublishResponse{}, nil
}

// A message the session gave up on (no PUBACK to read a code from) is
// reported once, not retried, and the next message of its key follows.
func TestPermanentVerdictIsReportedNotRetried(t *testing.T) {
	b := &hangUpBroker{attempts: map[string]int{}}
	d := New(b, 1, 2, slog.New(slog.NewTextHandler(io.Discard, nil)), func(string, time.Duration) {})
	got := make(chan error, 2)
	for _, topic := range []string{"poison", "next"} {
		d.Enqueue(Job{Ctx: context.Background(), Key: "k", Publish: &paho.Publish{Topic: topic}, Done: func(err error) { got <- err }})
	}
	d.Close()
	if err := <-got; !errors.As(err, new(verdict)) {
		t.Fatalf("poison: %v, want the verdict", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("next: %v", err)
	}
	if b.attempts["poison"] != 1 {
		t.Fatalf("poison published %d times, want once", b.attempts["poison"])
	}
}
