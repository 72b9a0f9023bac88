package live

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// fake answers from what the test sets; it records the authorization it
// was given and counts the health questions.
type fake struct {
	statusv1.UnimplementedStatusServiceServer
	mu       sync.Mutex
	health   *statusv1.GetHealthResponse
	tools    []*statusv1.Tool // of every site, each listed with its own
	toolsErr error
	sites    []*statusv1.Site
	messages []*statusv1.Message // newest first
	auth     []string
	// token, when set, must come as "Bearer token" for any answer, as
	// the status server's read check asks.
	token string
	// calls counts GetHealth; numbered puts the count in the backlog.
	calls    int64
	numbered bool
}

func (f *fake) authorize(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	f.auth = append(f.auth, md.Get("authorization")...)
	if f.token == "" || slices.Contains(md.Get("authorization"), "Bearer "+f.token) {
		return nil
	}
	return status.Error(codes.Unauthenticated, "this needs the admin token")
}

func (f *fake) GetHealth(ctx context.Context, _ *statusv1.GetHealthRequest) (*statusv1.GetHealthResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	h := proto.Clone(f.health).(*statusv1.GetHealthResponse)
	if f.numbered {
		h.Backlog = f.calls
	}
	return h, nil
}

func (f *fake) healthCalls() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// ListTools pages by two, to check that every page is read; it lists
// the tools of the site asked for.
func (f *fake) ListTools(ctx context.Context, req *statusv1.ListToolsRequest) (*statusv1.ListToolsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	if f.toolsErr != nil {
		return nil, f.toolsErr
	}
	var tools []*statusv1.Tool
	for _, t := range f.tools {
		if t.GetSite() == req.GetSite() {
			tools = append(tools, t)
		}
	}
	start := 0
	if req.GetPageToken() != "" {
		start = int(req.GetPageToken()[0] - '0')
	}
	end := min(start+2, len(tools))
	resp := &statusv1.ListToolsResponse{}
	for _, t := range tools[start:end] {
		resp.Tools = append(resp.Tools, proto.Clone(t).(*statusv1.Tool))
	}
	if end < len(tools) {
		resp.NextPageToken = string(rune('0' + end))
	}
	return resp, nil
}

func (f *fake) ListSites(ctx context.Context, _ *statusv1.ListSitesRequest) (*statusv1.ListSitesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	return &statusv1.ListSitesResponse{Sites: f.sites}, nil
}

func (f *fake) ListMessages(ctx context.Context, req *statusv1.ListMessagesRequest) (*statusv1.ListMessagesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.authorize(ctx); err != nil {
		return nil, err
	}
	msgs := f.messages[:min(int(req.GetLimit()), len(f.messages))]
	return &statusv1.ListMessagesResponse{Messages: msgs}, nil
}

func (f *fake) set(change func(f *fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// serve answers as f over gRPC, as the gateway's in-process server does,
// and returns a client of it: the fake then sees the metadata the handler
// sends as a server sees it.
func serve(t *testing.T, f *fake) statusv1.StatusServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	statusv1.RegisterStatusServiceServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///fake",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
	})
	return statusv1.NewStatusServiceClient(conn)
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

// leave disconnects and waits for the handler to return.
func (c *client) leave() {
	c.t.Helper()
	c.cancel()
	select {
	case <-c.handled:
	case <-time.After(2 * time.Second):
		c.t.Fatal("the handler still runs 2s after the client went")
	}
}

func fast(t *testing.T, f *fake) *Handler {
	h := New(serve(t, f))
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
		ID    int32   `json:"id"`
		Name  string  `json:"name"`
		InUse bool    `json:"in_use"`
		User  string  `json:"user"`
		Site  *string `json:"site"`
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
	c := connect(t, fast(t, f), nil)
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

// The tools event holds the default site's tools and every named site's,
// each of these with its site: north's and south's tool 12 are two tools,
// and neither is the default site's.
func TestLiveToolsOfEverySite(t *testing.T) {
	f := newFake()
	f.sites = []*statusv1.Site{{Name: "north", TopicPrefix: "north/"}, {Name: "south", TopicPrefix: "south/"}}
	f.tools = append(f.tools,
		&statusv1.Tool{Id: 12, Name: "Zeiss SEM", InUse: true, User: "Ada Byron", Site: proto.String("north")},
		&statusv1.Tool{Id: 20, Name: "Heidelberg MLA", Site: proto.String("north")},
		&statusv1.Tool{Id: 21, Name: "Nanoscribe", Site: proto.String("north")}, // north's second page
		&statusv1.Tool{Id: 12, Name: "Oxford ICP", Shutdown: true, Site: proto.String("south")},
	)
	c := connect(t, fast(t, f), nil)
	tools := decode[toolsDoc](t, c.expect(eventTools))
	var got []string
	for _, tool := range tools.Tools {
		site := "(no site)"
		if tool.Site != nil {
			site = *tool.Site
		}
		got = append(got, fmt.Sprintf("%s %d %s", site, tool.ID, tool.Name))
	}
	want := []string{"(no site) 12 Raith EBL", "(no site) 13 Oxford ICP", "(no site) 14 Zeiss SEM",
		"north 12 Zeiss SEM", "north 20 Heidelberg MLA", "north 21 Nanoscribe", "south 12 Oxford ICP"}
	if !slices.Equal(got, want) {
		t.Fatalf("tools %q, want %q", got, want)
	}

	// A change at one site alone is a change of the tools.
	f.set(func(f *fake) { f.tools[6].Shutdown, f.tools[6].Operational = false, true })
	tools = decode[toolsDoc](t, c.expect(eventTools))
	if len(tools.Tools) != 7 || *tools.Tools[6].Site != "south" {
		t.Fatalf("tools after south's change = %+v", tools)
	}
}

func TestLiveSaysOnceWhatCouldNotBeAnsweredAndWhenItIsAgain(t *testing.T) {
	f := newFake()
	f.toolsErr = status.Error(codes.Unavailable, "Redis is unreachable: connection refused")
	c := connect(t, fast(t, f), nil)
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
	c := connect(t, fast(t, newFake()), nil)
	c.expect(eventHealth)
	c.cancel()
	select {
	case <-c.handled:
	case <-time.After(2 * time.Second):
		t.Fatal("the handler still runs 2s after the client went")
	}
}

func TestLiveEndsOnStop(t *testing.T) {
	h := fast(t, newFake())
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
	h := New(serve(t, newFake()))
	h.Interval, h.Heartbeat = time.Hour, 20*time.Millisecond
	c := connect(t, h, nil)
	if data := c.expect(":"); data != ": still here" {
		t.Fatalf("heartbeat %q", data)
	}
}

func TestLiveChecksTheViewersTokenOnceAndPollsWithTheAdminToken(t *testing.T) {
	f := newFake()
	f.token = "s3cret"
	h := fast(t, f)
	h.ProtectReads("s3cret")
	c := connect(t, h, http.Header{"Authorization": {"Bearer s3cret"}})
	c.expect(eventHealth)
	c.expect(eventTools)
	c.expect(eventMessages)
	c.expect(eventHealth)
	f.mu.Lock()
	defer f.mu.Unlock()
	// The check at connect, then the poller's own calls.
	if len(f.auth) < 4 {
		t.Fatalf("authorization seen by the status server: %q", f.auth)
	}
	for _, a := range f.auth {
		if a != "Bearer s3cret" {
			t.Fatalf("authorization seen by the status server: %q", f.auth)
		}
	}
}

func TestLiveRefusesAViewerWithoutTheToken(t *testing.T) {
	for name, header := range map[string]http.Header{
		"no token":    nil,
		"wrong token": {"Authorization": {"Bearer guess"}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake()
			f.token = "s3cret"
			h := fast(t, f)
			h.Heartbeat = 20 * time.Millisecond
			h.ProtectReads("s3cret")
			c := connect(t, h, header)
			// As before the poller was shared: each question's problem, once.
			for _, about := range []string{eventHealth, eventTools, eventMessages} {
				ev := c.next()
				p := decode[problem](t, ev.data)
				if ev.name != eventProblem || p.About != about || p.Code != "unauthenticated" || !strings.Contains(p.Message, "admin token") {
					t.Fatalf("%s event %s, want the %s problem", ev.name, ev.data, about)
				}
			}
			// Then only heartbeats: the stream stays open, told nothing more.
			for range 3 {
				ev := <-c.events
				if ev.name != ":" {
					t.Fatalf("%s event after the refusal: %s", ev.name, ev.data)
				}
			}
			h.mu.Lock()
			polling := h.poller != nil
			h.mu.Unlock()
			if calls := f.healthCalls(); calls != 1 || polling {
				t.Fatalf("%d health calls, polling %v: want the one check and no poller", calls, polling)
			}
		})
	}
}

// backlogs reads n health events and returns their backlog, which the
// numbered fake sets to the number of GetHealth calls so far.
func (c *client) backlogs(n int) []int64 {
	c.t.Helper()
	var got []int64
	for range n {
		health := decode[map[string]any](c.t, c.expect(eventHealth))
		var b int64
		if _, err := fmt.Sscan(health["backlog"].(string), &b); err != nil {
			c.t.Fatal(err)
		}
		got = append(got, b)
	}
	return got
}

func TestLiveTwoViewersShareOnePollPerTick(t *testing.T) {
	f := newFake()
	f.numbered = true
	h := fast(t, f)
	a := connect(t, h, nil)
	a.expect(eventHealth)
	b := connect(t, h, nil)
	fromA, fromB := a.backlogs(10), b.backlogs(10)
	// Each health event is one call, and each viewer sees every one of
	// them: one poll per tick for both, not one each.
	for _, got := range [][]int64{fromA, fromB} {
		for i := 1; i < len(got); i++ {
			if got[i] != got[i-1]+1 {
				t.Fatalf("health calls seen %v by one viewer and %v by the other: each should see every call, one per tick", fromA, fromB)
			}
		}
	}
	last := max(fromA[len(fromA)-1], fromB[len(fromB)-1])
	if calls := f.healthCalls(); calls > last+2 {
		t.Fatalf("%d health calls for %d ticks", calls, last)
	}
}

func TestLiveTellsALateViewerEverythingAtOnce(t *testing.T) {
	f := newFake()
	h := fast(t, f)
	a := connect(t, h, nil)
	a.expect(eventTools)
	a.expect(eventMessages)
	f.set(func(f *fake) {
		f.messages = append([]*statusv1.Message{message(3, "nemo/tools/14/enabled")}, f.messages...)
	})
	if msgs := decode[messagesDoc](t, a.expect(eventMessages)); len(msgs.Messages) != 1 {
		t.Fatalf("new messages = %+v, want e3 only", msgs)
	}

	// The tools have not changed and e3 is not new: only what the poller
	// kept tells the late viewer.
	b := connect(t, h, nil)
	b.expect(eventHealth)
	if tools := decode[toolsDoc](t, b.expect(eventTools)); len(tools.Tools) != 3 {
		t.Fatalf("tools = %+v, want all three", tools)
	}
	if msgs := decode[messagesDoc](t, b.expect(eventMessages)); len(msgs.Messages) != 3 || msgs.Messages[0].EventID != "e3" {
		t.Fatalf("messages = %+v, want the three recent, newest first", msgs)
	}

	t.Run("without waiting for a tick", func(t *testing.T) {
		f := newFake()
		f.toolsErr = status.Error(codes.Unavailable, "Redis is unreachable: connection refused")
		h := fast(t, f)
		h.Interval = time.Hour
		a := connect(t, h, nil)
		a.expect(eventProblem)
		a.expect(eventMessages)
		b := connect(t, h, nil)
		b.expect(eventHealth)
		b.expect(eventMessages)
		if p := decode[problem](t, b.expect(eventProblem)); p.About != eventTools || p.Code != "unavailable" {
			t.Fatalf("problem = %+v", p)
		}
		if calls := f.healthCalls(); calls != 1 {
			t.Fatalf("%d health calls, want the first tick's only", calls)
		}
	})
}

// stuckWriter is a client that reads the first write and then no more:
// writes block until the write deadline is set.
type stuckWriter struct {
	header   http.Header
	writes   int
	stuck    chan struct{} // closed when a write first blocks
	deadline chan struct{} // closed by SetWriteDeadline
	once     sync.Once
}

func newStuckWriter() *stuckWriter {
	return &stuckWriter{header: http.Header{}, stuck: make(chan struct{}), deadline: make(chan struct{})}
}

func (w *stuckWriter) Header() http.Header { return w.header }
func (w *stuckWriter) WriteHeader(int)     {}
func (w *stuckWriter) Flush()              {}

func (w *stuckWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes == 1 {
		return len(p), nil
	}
	if w.writes == 2 {
		close(w.stuck)
	}
	<-w.deadline
	return 0, os.ErrDeadlineExceeded
}

// SetWriteDeadline is what http.ResponseController calls: each write
// gets writeWait, and a deadline already passed cuts the write.
func (w *stuckWriter) SetWriteDeadline(d time.Time) error {
	if !d.After(time.Now()) {
		w.once.Do(func() { close(w.deadline) })
	}
	return nil
}

func TestLiveDropsAViewerThatStopsReadingWithoutDelayingTheOthers(t *testing.T) {
	f := newFake()
	h := fast(t, f)
	h.Backlog = minBacklog
	a := connect(t, h, nil)
	a.expect(eventHealth)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stuck := newStuckWriter()
	handled := make(chan struct{})
	go func() {
		defer close(handled)
		h.ServeHTTP(stuck, httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/live", nil))
	}()
	select {
	case <-stuck.stuck:
	case <-time.After(2 * time.Second):
		t.Fatal("the stuck viewer was never written to")
	}
	// While its writes hang, and until it is dropped, a hears every tick.
	healths := 0
	for waiting := true; waiting; {
		select {
		case <-handled:
			waiting = false
		case ev := <-a.events:
			if ev.name == eventHealth {
				healths++
			}
		case <-time.After(2 * time.Second):
			t.Fatal("the viewer that stopped reading is still served after 2s")
		}
	}
	select {
	case <-stuck.deadline:
	default:
		t.Fatal("the stuck viewer's handler returned without its write being cut short")
	}
	if healths < 3 {
		t.Fatalf("the other viewer had %d health events while one was stuck", healths)
	}
	for range 3 {
		a.expect(eventHealth)
	}
	h.mu.Lock()
	viewers := len(h.viewers)
	h.mu.Unlock()
	if viewers != 1 {
		t.Fatalf("%d viewers, want the one still reading", viewers)
	}
}

func TestLiveStopsPollingWhenTheLastViewerLeaves(t *testing.T) {
	f := newFake()
	h := fast(t, f)
	a := connect(t, h, nil)
	b := connect(t, h, nil)
	a.expect(eventHealth)
	b.expect(eventHealth)
	h.mu.Lock()
	p := h.poller
	h.mu.Unlock()
	if p == nil {
		t.Fatal("no poller while two watch")
	}

	a.leave()
	b.expect(eventHealth)
	b.expect(eventHealth)
	b.leave()
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
		t.Fatal("the poller still runs 2s after the last viewer left")
	}
	h.mu.Lock()
	left := h.poller
	h.mu.Unlock()
	calls := f.healthCalls()
	time.Sleep(5 * h.Interval)
	if left != nil || f.healthCalls() != calls {
		t.Fatalf("poller %v, %d health calls then %d with nobody watching", left, calls, f.healthCalls())
	}

	// The next viewer starts it again, and is told everything.
	c := connect(t, h, nil)
	c.expect(eventHealth)
	c.expect(eventTools)
	c.expect(eventMessages)
}

// The server's read and write timeouts are for whole requests and
// answers; the stream outlives both and keeps telling its viewer.
func TestLiveOutlivesTheServersTimeouts(t *testing.T) {
	h := fast(t, newFake())
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	srv.Start()
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/live", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	began := time.Now()
	healths := 0
	for time.Since(began) < 600*time.Millisecond {
		if !sc.Scan() {
			t.Fatalf("the stream ended after %v, %d health events (%v)", time.Since(began), healths, sc.Err())
		}
		if sc.Text() == "event: health" {
			healths++
		}
	}
	if healths < 10 {
		t.Fatalf("%d health events in %v, want one every 20ms", healths, time.Since(began))
	}
}
