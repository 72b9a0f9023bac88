package live

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// fake answers from what the test sets; it records the authorization it
// was given.
type fake struct {
	statusv1.UnimplementedStatusServiceServer
	mu       sync.Mutex
	health   *statusv1.GetHealthResponse
	tools    []*statusv1.Tool
	toolsErr error
	messages []*statusv1.Message // newest first
	auth     []string
}

func (f *fake) GetHealth(ctx context.Context, _ *statusv1.GetHealthRequest) (*statusv1.GetHealthResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	md, _ := metadata.FromIncomingContext(ctx)
	f.auth = append(f.auth, md.Get("authorization")...)
	return proto.Clone(f.health).(*statusv1.GetHealthResponse), nil
}

// ListTools pages by two, to check that every page is read.
func (f *fake) ListTools(_ context.Context, req *statusv1.ListToolsRequest) (*statusv1.ListToolsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.toolsErr != nil {
		return nil, f.toolsErr
	}
	start := 0
	if req.GetPageToken() != "" {
		start = int(req.GetPageToken()[0] - '0')
	}
	end := min(start+2, len(f.tools))
	resp := &statusv1.ListToolsResponse{}
	for _, t := range f.tools[start:end] {
		resp.Tools = append(resp.Tools, proto.Clone(t).(*statusv1.Tool))
	}
	if end < len(f.tools) {
		resp.NextPageToken = string(rune('0' + end))
	}
	return resp, nil
}

func (f *fake) ListMessages(_ context.Context, req *statusv1.ListMessagesRequest) (*statusv1.ListMessagesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	msgs := f.messages[:min(int(req.GetLimit()), len(f.messages))]
	return &statusv1.ListMessagesResponse{Messages: msgs}, nil
}

func (f *fake) set(change func(f *fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func newFake() *fake {
	return &fake{
		health: &statusv1.GetHealthResponse{Healthy: true, Summary: "Everything is working: tool displays are up to date.", Backlog: 3},
		tools: []*statusv1.Tool{
			{Id: 12, Name: "Raith EBL", Operational: true},
			{Id: 13, Name: "Oxford ICP", Operational: true},
			{Id: 14, Name: "Zeiss SEM", Operational: true},
		},
		messages: []*statusv1.Message{message(2, "nemo/tools/13/enabled"), message(1, "nemo/tools/12/start")},
	}
}

func message(n int64, topic string) *statusv1.Message {
	return &statusv1.Message{Topic: topic, EventId: "e" + string(rune('0'+n)), SentAt: timestamppb.New(time.UnixMilli(1_760_000_000_000 + n))}
}

type event struct{ name, data string }

// client reads the stream; comments come as events named ":".
type client struct {
	t       *testing.T
	events  chan event
	cancel  context.CancelFunc
	header  http.Header
	handled chan struct{}
}

// connect serves h and opens GET /v1/live with header.
func connect(t *testing.T, h *Handler, header http.Header) *client {
	t.Helper()
	handled := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		handled <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/live", nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, events: make(chan event, 100), cancel: cancel, header: resp.Header, handled: handled}
	go func() {
		defer resp.Body.Close()
		defer close(c.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					c.events <- ev
				}
				ev = event{}
			case strings.HasPrefix(line, ":"):
				c.events <- event{name: ":", data: line}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return c
}

// next returns the next event other than health and comments.
func (c *client) next() event {
	c.t.Helper()
	timeout := time.After(2 * time.Second)
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				c.t.Fatal("the stream ended")
			}
			if ev.name != eventHealth && ev.name != ":" {
				return ev
			}
		case <-timeout:
			c.t.Fatal("no event for 2s")
		}
	}
}

// expect waits for an event named name and returns its data.
func (c *client) expect(name string) string {
	c.t.Helper()
	timeout := time.After(2 * time.Second)
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				c.t.Fatalf("the stream ended before %q", name)
			}
			if ev.name == name {
				return ev.data
			}
		case <-timeout:
			c.t.Fatalf("no %q event for 2s", name)
		}
	}
}

func fast(f *fake) *Handler {
	h := New(f)
	h.Interval, h.Heartbeat = 20*time.Millisecond, time.Hour
	return h
}

func decode[T any](t *testing.T, data string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	return v
}

type toolsDoc struct {
	Tools []struct {
		ID    int32  `json:"id"`
		Name  string `json:"name"`
		InUse bool   `json:"in_use"`
		User  string `json:"user"`
	} `json:"tools"`
	NextPageToken *string `json:"next_page_token"`
}

type messagesDoc struct {
	Messages []struct {
		Topic   string `json:"topic"`
		EventID string `json:"event_id"`
		SentAt  string `json:"sent_at"`
		Qos     *int   `json:"qos"`
	} `json:"messages"`
}

func TestLiveSendsHealthThenToolsAndMessagesOnlyWhenNew(t *testing.T) {
	f := newFake()
	c := connect(t, fast(f), nil)
	if ct := c.header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}

	health := decode[map[string]any](t, c.expect(eventHealth))
	// Proto names, every field, int64 as a string.
	if health["summary"] != "Everything is working: tool displays are up to date." || health["backlog"] != "3" || health["in_flight"] != "0" {
		t.Fatalf("health = %v", health)
	}
	tools := decode[toolsDoc](t, c.expect(eventTools))
	if len(tools.Tools) != 3 || tools.Tools[2].Name != "Zeiss SEM" || tools.NextPageToken == nil || *tools.NextPageToken != "" {
		t.Fatalf("tools = %+v, want all three pages joined", tools)
	}
	msgs := decode[messagesDoc](t, c.expect(eventMessages))
	if len(msgs.Messages) != 2 || msgs.Messages[0].Topic != "nemo/tools/13/enabled" || msgs.Messages[0].Qos == nil {
		t.Fatalf("first messages = %+v, want both, newest first, every field", msgs)
	}

	// Several ticks with no change: health only.
	for range 3 {
		c.expect(eventHealth)
	}
	select {
	case ev := <-c.events:
		if ev.name != eventHealth {
			t.Fatalf("%s event with nothing changed: %s", ev.name, ev.data)
		}
	case <-time.After(100 * time.Millisecond):
	}

	f.set(func(f *fake) {
		f.tools[0].InUse, f.tools[0].User = true, "Alice Martin"
		f.messages = append([]*statusv1.Message{message(4, "nemo/tools/12/status"), message(3, "nemo/tools/12/enabled")}, f.messages...)
	})
	got := map[string]string{}
	for range 2 {
		ev := c.next()
		got[ev.name] = ev.data
	}
	tools = decode[toolsDoc](t, got[eventTools])
	if !tools.Tools[0].InUse || tools.Tools[0].User != "Alice Martin" {
		t.Fatalf("tools after the change = %+v", tools)
	}
	msgs = decode[messagesDoc](t, got[eventMessages])
	if len(msgs.Messages) != 2 || msgs.Messages[0].EventID != "e4" || msgs.Messages[1].EventID != "e3" {
		t.Fatalf("new messages = %+v, want e4 and e3 only", msgs)
	}

	// Same event id and topic, sent again later (a redelivery): new.
	f.set(func(f *fake) {
		again := message(3, "nemo/tools/12/enabled")
		again.SentAt = timestamppb.New(time.UnixMilli(1_760_000_000_999))
		f.messages = append([]*statusv1.Message{again}, f.messages...)
	})
	msgs = decode[messagesDoc](t, c.expect(eventMessages))
	if len(msgs.Messages) != 1 || msgs.Messages[0].EventID != "e3" {
		t.Fatalf("redelivered message = %+v", msgs)
	}
}

func TestLiveSaysOnceWhatCouldNotBeAnsweredAndWhenItIsAgain(t *testing.T) {
	f := newFake()
	f.toolsErr = grpcstatus.Error(codes.Unavailable, "Redis is unreachable: connection refused")
	c := connect(t, fast(f), nil)
	p := decode[problem](t, c.expect(eventProblem))
	if p.About != eventTools || p.Code != "unavailable" || !strings.Contains(p.Message, "Redis is unreachable") {
		t.Fatalf("problem = %+v", p)
	}
	c.expect(eventMessages)
	for range 3 {
		c.expect(eventHealth)
	}
	select {
	case ev := <-c.events:
		if ev.name == eventProblem {
			t.Fatalf("the same problem again: %s", ev.data)
		}
	case <-time.After(50 * time.Millisecond):
	}
	f.set(func(f *fake) { f.toolsErr = nil })
	if p := decode[problem](t, c.expect(eventProblem)); p.About != eventTools || p.Code != "ok" || p.Message != "" {
		t.Fatalf("problem solved = %+v", p)
	}
	c.expect(eventTools)
}

func TestLiveEndsWhenTheClientGoes(t *testing.T) {
	c := connect(t, fast(newFake()), nil)
	c.expect(eventHealth)
	c.cancel()
	select {
	case <-c.handled:
	case <-time.After(2 * time.Second):
		t.Fatal("the handler still runs 2s after the client went")
	}
}

func TestLiveEndsOnStop(t *testing.T) {
	h := fast(newFake())
	stop := make(chan struct{})
	h.Stop = stop
	c := connect(t, h, nil)
	c.expect(eventHealth)
	close(stop)
	select {
	case <-c.handled:
	case <-time.After(2 * time.Second):
		t.Fatal("the handler still runs 2s after Stop")
	}
}

func TestLiveHeartbeatAndRetry(t *testing.T) {
	h := New(newFake())
	h.Interval, h.Heartbeat = time.Hour, 20*time.Millisecond
	c := connect(t, h, nil)
	if data := c.expect(":"); data != ": still here" {
		t.Fatalf("heartbeat %q", data)
	}
}

func TestLivePassesTheBearerTokenOn(t *testing.T) {
	f := newFake()
	c := connect(t, fast(f), http.Header{"Authorization": {"Bearer s3cret"}})
	c.expect(eventHealth)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.auth) == 0 || f.auth[0] != "Bearer s3cret" {
		t.Fatalf("authorization seen by the status server: %q", f.auth)
	}
}
