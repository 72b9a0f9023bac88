// Package live streams what the page shows as server-sent events, so that
// the page hears of a change within a tick (a second by default) without
// polling the REST API itself.
//
// The polling happens here instead, once for all: every viewer shares one
// poller, which asks the status server once a tick, however many pages
// are open, and hands each viewer the same events (only what changed,
// besides the health).
package live

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// The events a client receives, each with one JSON document as data:
//
//	health    GetHealthResponse, every tick
//	tools     ListToolsResponse with every tool, the default site's then
//	          each named site's (with its site), when any tool changed
//	messages  ListMessagesResponse with the messages not sent before, newest first
//	problem   {"about", "code", "message"} when a question could not be
//	          answered, once per distinct failure; code "ok" and no message
//	          when it is answered again
//
// A client that connects gets at once the last health, every tool, the
// recent messages and the problems still open; then the changes.
const (
	eventHealth   = "health"
	eventTools    = "tools"
	eventMessages = "messages"
	eventProblem  = "problem"
)

// abouts are the questions, in the order they are asked and told.
var abouts = []string{eventHealth, eventTools, eventMessages}

// minBacklog is the most a viewer is handed at once, when it connects:
// health, tools, messages and a problem with each.
const minBacklog = 6

// marshal writes proto field names and every field, as the REST API does.
var marshal = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// writeWait is how long one write of a stream may take: a viewer that
// reads nothing for that long is cut, however long its stream has lasted.
const writeWait = 10 * time.Second

// Handler serves GET /v1/live as text/event-stream.
type Handler struct {
	status statusv1.StatusServiceClient
	// Interval is how often the status is asked; Heartbeat how often a
	// comment keeps proxies from closing a quiet stream.
	Interval, Heartbeat time.Duration
	// MessageLimit is how many of the newest messages each tick reads.
	MessageLimit int32
	// Backlog is how many events a viewer may fall behind (at least
	// minBacklog); one that falls further is dropped, so that its browser
	// reconnects and starts afresh, rather than hold the others up.
	Backlog int
	// Stop ends every stream, e.g. when the gateway shuts down.
	Stop <-chan struct{}

	// checkViewers: reads need the admin token, so each viewer's
	// Authorization header is checked once, when it connects.
	checkViewers bool
	// pollAs gives the poller's calls what the status server asks of
	// callers (the admin token when reads are protected).
	pollAs func(context.Context) context.Context

	mu      sync.Mutex
	viewers map[*viewer]struct{}
	poller  *poller // nil while nobody watches
}

// New streams from client, a client of the status server, so that its
// calls pass the server's authentication like any other.
func New(client statusv1.StatusServiceClient) *Handler {
	return &Handler{status: client, Interval: time.Second, Heartbeat: 15 * time.Second, MessageLimit: 100, Backlog: 32}
}

// ProtectReads is for a status server that answers reads only with the
// admin token: each viewer must send "Authorization: Bearer <token>",
// checked once when it connects, and the shared poller sends token with
// its own calls. With token "" reads are open and nothing changes. The
// token stays in the poller's gRPC metadata; it is never logged.
func (h *Handler) ProtectReads(token string) {
	if token == "" {
		return
	}
	md := metadata.Pairs("authorization", "Bearer "+token)
	h.checkViewers = true
	h.pollAs = func(ctx context.Context) context.Context {
		return metadata.NewOutgoingContext(ctx, md)
	}
}

// viewer is one connected client: the events not yet written to it.
type viewer struct {
	out     chan string
	dropped chan struct{} // closed when it fell too far behind
	abort   func()        // unblocks a write stuck on a client that does not read
}

// deadlines sets each write's deadline on a stream that outlives the
// server's WriteTimeout, which is for whole answers: every write gets
// writeWait, and once cut, a write fails at once.
type deadlines struct {
	rc  *http.ResponseController
	mu  sync.Mutex
	cut bool
}

var errCut = errors.New("the viewer was dropped")

// next gives the coming write writeWait, unless the stream was cut.
func (d *deadlines) next() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cut {
		return errCut
	}
	_ = d.rc.SetWriteDeadline(time.Now().Add(writeWait))
	return nil
}

// abort cuts the write in progress, and refuses the next ones: without
// the lock, next could put back a deadline abort has just passed.
func (d *deadlines) abort() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cut = true
	_ = d.rc.SetWriteDeadline(time.Now())
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	// The server's ReadTimeout does not end the stream: net/http lifts
	// the read deadline once the request is read. Its WriteTimeout would.
	limits := &deadlines{rc: http.NewResponseController(w)}
	write := func(text string) error {
		if err := limits.next(); err != nil {
			return err
		}
		if _, err := fmt.Fprint(w, text); err != nil {
			return err
		}
		flusher.Flush()
		return nil
	}
	// The browser reconnects after this many milliseconds if the stream breaks.
	if write("retry: 3000\n\n") != nil {
		return
	}
	beat := time.NewTicker(h.Heartbeat)
	defer beat.Stop()

	// A refused viewer is told, once, what every question would answer
	// (the page then polls the REST API with the token), and afterwards
	// only heartbeats until it goes: its out and dropped stay nil.
	var out <-chan string
	var dropped <-chan struct{}
	if refused := h.refused(r); refused != "" {
		if write(refused) != nil {
			return
		}
	} else {
		v := &viewer{
			out:     make(chan string, max(h.Backlog, minBacklog)),
			dropped: make(chan struct{}),
			abort:   limits.abort,
		}
		h.join(v)
		defer h.leave(v)
		out, dropped = v.out, v.dropped
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.Stop:
			return
		case <-dropped:
			// Ending the response makes the browser reconnect, and a
			// new connection starts with everything there is to know.
			return
		case <-beat.C:
			if write(": still here\n\n") != nil {
				return
			}
		case text := <-out:
			if write(text) != nil {
				return
			}
		}
	}
}

// refused asks the status server, once, whether the client's
// Authorization header lets it read; it returns the problem events to
// send when not, else "".
func (h *Handler) refused(r *http.Request) string {
	if !h.checkViewers {
		return ""
	}
	_, err := h.status.GetHealth(withAuthorization(r), &statusv1.GetHealthRequest{})
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied:
	default:
		// Answered, or failed past the token check: the client may read.
		return ""
	}
	// Every read is guarded by the same check, so each question would
	// have failed alike.
	var text string
	for _, about := range abouts {
		text += eventText(eventProblem, problemOf(about, err).json())
	}
	return text
}

// withAuthorization passes the request's bearer token on as the gRPC
// metadata the status server checks, so that reads protected by the
// admin token are served to whoever sends it.
func withAuthorization(r *http.Request) context.Context {
	ctx := r.Context()
	if a := r.Header.Get("Authorization"); a != "" {
		ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", a))
	}
	return ctx
}

// join hands v what is known so far and adds it to those the poller
// tells, starting the poller if v is the first.
//
// The poller runs only while someone watches, rather than for the
// gateway's whole life: most of the time no page is open, and then the
// status server (five gRPC calls and Redis for the health alone) is left
// alone. A poller started afresh asks at once, so the first viewer waits
// no longer than one round of questions.
func (h *Handler) join(v *viewer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.viewers == nil {
		h.viewers = map[*viewer]struct{}{}
	}
	h.viewers[v] = struct{}{}
	if h.poller == nil {
		h.poller = h.startPoller()
		return
	}
	for _, text := range h.poller.snapshot() {
		h.tell(v, text)
	}
}

// leave forgets v, and stops the poller when nobody is left.
func (h *Handler) leave(v *viewer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.viewers, v)
	if len(h.viewers) == 0 && h.poller != nil {
		h.poller.cancel()
		h.poller = nil
	}
}

// tell queues text for v without waiting; a viewer whose queue is full is
// dropped. Called with h.mu held.
func (h *Handler) tell(v *viewer, text string) {
	if _, ok := h.viewers[v]; !ok {
		return
	}
	select {
	case v.out <- text:
	default:
		delete(h.viewers, v)
		close(v.dropped)
		// Not under the lock: with HTTP/2 this waits for the connection.
		go v.abort()
	}
}

// broadcast tells every viewer; called with h.mu held.
func (h *Handler) broadcast(text string) {
	for v := range h.viewers {
		h.tell(v, text)
	}
}

// poller asks the status server every tick for all viewers, and keeps
// what they were told so that a viewer who connects later is told too.
type poller struct {
	h      *Handler
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// The fields below are read and written with h.mu held.
	health    string                      // the last health event
	tools     *statusv1.ListToolsResponse // the last tools sent
	toolsText string                      // as an event
	recent    []*statusv1.Message         // the last messages read, newest first
	seen      map[string]bool             // their keys; nil until read once
	problems  map[string]problem          // the questions failing now
}

// startPoller is called with h.mu held. Its context is its own, not a
// viewer's: it outlives whoever connected first.
func (h *Handler) startPoller() *poller {
	ctx, cancel := context.WithCancel(context.Background())
	if h.pollAs != nil {
		ctx = h.pollAs(ctx)
	}
	p := &poller{h: h, ctx: ctx, cancel: cancel, done: make(chan struct{}), problems: map[string]problem{}}
	go p.run(h.Interval)
	return p
}

func (p *poller) run(interval time.Duration) {
	defer close(p.done)
	defer p.cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		p.tick()
		select {
		case <-p.ctx.Done():
			return
		case <-p.h.Stop:
			return
		case <-tick.C:
		}
	}
}

// answers are one round of questions.
type answers struct {
	health      *statusv1.GetHealthResponse
	healthErr   error
	tools       *statusv1.ListToolsResponse
	toolsErr    error
	messages    *statusv1.ListMessagesResponse
	messagesErr error
}

// tick asks, then tells every viewer what changed. The questions are
// asked without the lock, so that viewers come and go meanwhile.
func (p *poller) tick() {
	var a answers
	a.health, a.healthErr = p.h.status.GetHealth(p.ctx, &statusv1.GetHealthRequest{})
	a.tools, a.toolsErr = p.allTools()
	a.messages, a.messagesErr = p.h.status.ListMessages(p.ctx, &statusv1.ListMessagesRequest{Limit: p.h.MessageLimit})

	p.h.mu.Lock()
	defer p.h.mu.Unlock()
	if p.h.poller != p || p.ctx.Err() != nil {
		return // everyone left while it asked
	}
	if p.answered(eventHealth, a.healthErr) {
		if text, ok := p.event(eventHealth, a.health); ok {
			p.health = text
		}
	}
	if p.answered(eventTools, a.toolsErr) && !proto.Equal(a.tools, p.tools) {
		if text, ok := p.event(eventTools, a.tools); ok {
			p.tools, p.toolsText = a.tools, text
		}
	}
	if p.answered(eventMessages, a.messagesErr) {
		if fresh := p.fresh(a.messages.GetMessages()); fresh != nil {
			p.event(eventMessages, &statusv1.ListMessagesResponse{Messages: fresh})
		}
	}
}

// allTools reads every page of the default site's tools and of every
// named site's, as one list: a named site's tools say their site, so that
// two sites' tool 12 stay two tools.
func (p *poller) allTools() (*statusv1.ListToolsResponse, error) {
	all := &statusv1.ListToolsResponse{}
	if err := p.siteTools("", all); err != nil {
		return nil, err
	}
	sites, err := p.h.status.ListSites(p.ctx, &statusv1.ListSitesRequest{})
	if err != nil {
		return nil, err
	}
	for _, site := range sites.GetSites() {
		if err := p.siteTools(site.GetName(), all); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// siteTools adds every page of site's tools to all.
func (p *poller) siteTools(site string, all *statusv1.ListToolsResponse) error {
	req := &statusv1.ListToolsRequest{PageSize: 1000, Site: site}
	for {
		resp, err := p.h.status.ListTools(p.ctx, req)
		if err != nil {
			return err
		}
		all.Tools = append(all.Tools, resp.GetTools()...)
		if resp.GetNextPageToken() == "" || resp.GetNextPageToken() == req.PageToken {
			return nil
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// fresh returns the messages not sent before, newest first as given, and
// remembers msgs as the recent ones. It remembers only the last answer:
// the feed reads the newest messages, so an older one never comes back.
func (p *poller) fresh(msgs []*statusv1.Message) []*statusv1.Message {
	first := p.seen == nil
	seen := make(map[string]bool, len(msgs))
	var fresh []*statusv1.Message
	for _, m := range msgs {
		k := key(m)
		seen[k] = true
		if first || !p.seen[k] {
			fresh = append(fresh, m)
		}
	}
	p.seen, p.recent = seen, msgs
	if first && fresh == nil {
		// Say so once, so that the page knows the feed is empty.
		return []*statusv1.Message{}
	}
	return fresh
}

func key(m *statusv1.Message) string {
	return fmt.Sprintf("%d|%s|%s", m.GetSentAt().AsTime().UnixNano(), m.GetEventId(), m.GetTopic())
}

// answered reports whether err is nil; otherwise it tells the viewers
// what could not be answered, once per distinct failure.
func (p *poller) answered(about string, err error) bool {
	if err == nil {
		if _, failed := p.problems[about]; failed {
			delete(p.problems, about)
			p.h.broadcast(eventText(eventProblem, problem{About: about, Code: "ok"}.json()))
		}
		return true
	}
	prob := problemOf(about, err)
	if old, failed := p.problems[about]; !failed || old.Message != prob.Message {
		p.problems[about] = prob
		p.h.broadcast(eventText(eventProblem, prob.json()))
	}
	return false
}

// event tells every viewer m as event; ok is false when m could not be
// written as JSON, which the viewers are told instead.
func (p *poller) event(event string, m proto.Message) (text string, ok bool) {
	doc, err := marshal.Marshal(m)
	if err != nil {
		p.h.broadcast(eventText(eventProblem, problem{About: event, Code: "internal", Message: err.Error()}.json()))
		return "", false
	}
	text = eventText(event, doc)
	p.h.broadcast(text)
	return text, true
}

// snapshot is what a viewer who connects now is told at once, in the
// order a first tick tells it: the last health, every tool, the recent
// messages, then the problems still open (the data the others still see
// stays until the question is answered again). Called with h.mu held.
func (p *poller) snapshot() []string {
	var texts []string
	if p.health != "" {
		texts = append(texts, p.health)
	}
	if p.toolsText != "" {
		texts = append(texts, p.toolsText)
	}
	if p.seen != nil {
		recent := p.recent
		if recent == nil {
			recent = []*statusv1.Message{}
		}
		if doc, err := marshal.Marshal(&statusv1.ListMessagesResponse{Messages: recent}); err == nil {
			texts = append(texts, eventText(eventMessages, doc))
		}
	}
	for _, about := range abouts {
		if prob, failed := p.problems[about]; failed {
			texts = append(texts, eventText(eventProblem, prob.json()))
		}
	}
	return texts
}

// eventText is one event; doc is compact JSON, so one data line.
func eventText(event string, doc []byte) string {
	return "event: " + event + "\ndata: " + string(doc) + "\n\n"
}
