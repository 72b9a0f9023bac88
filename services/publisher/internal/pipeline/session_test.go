package pipeline

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"

	"github.com/nemo-mqtt-bridge/bridge/services/publisher/internal/mqttsession"
)

// The failure injected into a real session: one tool's 3,000 messages are
// pipelined to a real mosquitto, and the connection is cut twice while
// hundreds are in flight. The session resends what the broker had not
// acknowledged, in order, after each reconnect. Every message is answered
// once, in the tool's order; the subscriber gets every message, the first
// copy of each in order (a resend may repeat some, which subscribers drop
// by event_id), and ends on the tool's last message.
func TestCutConnectionsMidPipelineKeepTheToolsOrder(t *testing.T) {
	addr := startMosquitto(t)
	const n = 3000
	heard := subscribe(t, addr, "order/#")

	session, err := mqttsession.Start(t.Context(), mqttsession.Config{
		URL: "mqtt://" + addr, ClientID: "pipeline-test", KeepAlive: 30 * time.Second, SessionExpiry: time.Minute,
	}, quiet(), func(mqttsession.State) {})
	if err != nil {
		t.Fatal(err)
	}
	p := New(session, Options{Capacity: n, MaxInFlight: 500, AckTimeout: 10 * time.Second, Log: quiet()})
	t.Cleanup(p.Close)

	var mu sync.Mutex
	var answered []int
	cut := map[int]bool{500: true, 1800: true}
	msgs := make([]Message, n)
	for i := range n {
		msgs[i] = Message{Ctx: t.Context(), Key: "tool:1", Publish: &paho.Publish{Topic: "order/1", QoS: 1, Payload: []byte(strconv.Itoa(i))},
			Done: func(err error) {
				if err != nil {
					t.Errorf("message %d: %v", i, err)
				}
				mu.Lock()
				answered = append(answered, i)
				mu.Unlock()
				if cut[i] {
					session.Reconnect()
				}
			}}
	}
	p.Add(t.Context(), msgs)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(answered) == n })
	for i, got := range answered {
		if got != i {
			t.Fatalf("answer %d was for message %d: %v…", i, got, answered[max(0, i-3):i+1])
		}
	}
	waitFor(t, func() bool { return heard.last() == n-1 })
	time.Sleep(200 * time.Millisecond) // a late duplicate would show now
	seen, firsts, last, copies := heard.summary()
	if len(seen) != n {
		t.Fatalf("the subscriber got %d distinct messages, want %d", len(seen), n)
	}
	for i := 1; i < len(firsts); i++ {
		if firsts[i] < firsts[i-1] {
			t.Fatalf("first copies out of order: %d after %d", firsts[i], firsts[i-1])
		}
	}
	if last != n-1 {
		t.Fatalf("the subscriber ended on message %d, want %d", last, n-1)
	}
	t.Logf("%d copies for %d messages (a cut resends what was in flight)", copies, n)
}

// A router's stream ends while its messages wait for room in the session
// (the broker's Receive Maximum, 2 here): none written after one it gave
// up may reach the broker, else the subscriber would get the tool's
// messages out of order. The next router sends them all again; the first
// copies the subscriber gets are in the tool's order, round after round.
func TestAStreamEndingWhileItsMessagesWaitForRoomKeepsTheToolsOrder(t *testing.T) {
	addr := startMosquittoInflight(t, 2)
	heard := subscribe(t, addr, "gone/#")
	session, err := mqttsession.Start(t.Context(), mqttsession.Config{
		URL: "mqtt://" + addr, ClientID: "gone-stream-test", KeepAlive: 30 * time.Second, SessionExpiry: time.Minute,
	}, quiet(), func(mqttsession.State) {})
	if err != nil {
		t.Fatal(err)
	}
	p := New(session, Options{Capacity: 10_000, MaxInFlight: 1000, AckTimeout: 10 * time.Second, Log: quiet()})
	t.Cleanup(p.Close)

	const rounds, n = 20, 200
	next := 0 // the tool's first message not yet answered
	for round := range rounds {
		gone, cancel := context.WithCancel(t.Context())
		var answered atomic.Int64
		add := func(ctx context.Context, count *atomic.Int64) {
			msgs := make([]Message, 0, n)
			for i := next; i < next+n; i++ {
				msgs = append(msgs, Message{Ctx: ctx, Key: "tool:1", Publish: &paho.Publish{Topic: "gone/1", QoS: 1, Payload: []byte(strconv.Itoa(i))},
					Done: func(error) { count.Add(1) }})
			}
			p.Add(ctx, msgs)
		}
		add(gone, &answered)
		waitFor(t, func() bool { return answered.Load() >= int64(n/4) })
		cancel() // the router is gone: its messages still waiting are dropped
		var again atomic.Int64
		add(t.Context(), &again) // the next router sends them all again
		waitFor(t, func() bool { return again.Load() == n })
		next += n
		waitFor(t, func() bool { return heard.last() == next-1 })
		_, firsts, _, _ := heard.summary()
		for i := 1; i < len(firsts); i++ {
			if firsts[i] < firsts[i-1] {
				t.Fatalf("round %d: first copies out of order: %d after %d (%v)", round, firsts[i], firsts[i-1], firsts[max(0, i-5):min(len(firsts), i+3)])
			}
		}
	}
}

type heard struct {
	mu   sync.Mutex
	seqs []int
}

func (h *heard) last() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.seqs) == 0 {
		return -1
	}
	return h.seqs[len(h.seqs)-1]
}

func (h *heard) summary() (seen map[int]bool, firsts []int, last, copies int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen = map[int]bool{}
	for _, s := range h.seqs {
		if !seen[s] {
			seen[s] = true
			firsts = append(firsts, s)
		}
	}
	return seen, firsts, h.seqs[len(h.seqs)-1], len(h.seqs)
}

func subscribe(t *testing.T, addr, filter string) *heard {
	t.Helper()
	h := &heard{}
	u, _ := url.Parse("mqtt://" + addr)
	ready := make(chan struct{})
	cm, err := autopaho.NewConnection(t.Context(), autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 30, CleanStartOnInitialConnection: true,
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			if _, err := cm.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err == nil {
				close(ready)
			}
		},
		ClientConfig: paho.ClientConfig{ClientID: "pipeline-test-subscriber", OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(r paho.PublishReceived) (bool, error) {
				seq, _ := strconv.Atoi(string(r.Packet.Payload))
				h.mu.Lock()
				h.seqs = append(h.seqs, seq)
				h.mu.Unlock()
				return true, nil
			}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cm.Disconnect(context.Background()) })
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber did not subscribe")
	}
	return h
}

// startMosquitto runs a mosquitto of the test's own on a free loopback
// port (never the machine's broker), with no limit on messages in flight.
func startMosquitto(t *testing.T) string {
	t.Helper()
	return startMosquittoInflight(t, 0)
}

// startMosquittoInflight is startMosquitto with max_inflight_messages n,
// the Receive Maximum it announces (0: no limit).
func startMosquittoInflight(t *testing.T, n int) string {
	t.Helper()
	const bin = "/usr/sbin/mosquitto"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("mosquitto is not installed (apt-get install mosquitto): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	text := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_inflight_messages %d\nmax_queued_messages 0\nlog_dest stderr\n", port, n)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitFor(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("gave up waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
