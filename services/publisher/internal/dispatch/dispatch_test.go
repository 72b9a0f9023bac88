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
