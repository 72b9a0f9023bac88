// Package live streams what the page shows as server-sent events, so that
// the page updates the moment something changes instead of polling.
package live

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// The events a client receives, each with one JSON document as data:
//
//	health    GetHealthResponse, every tick
//	tools     ListToolsResponse with every tool, when any tool changed
//	messages  ListMessagesResponse with the messages not sent before, newest first
//	problem   {"about", "code", "message"} when a question could not be
//	          answered, once per distinct failure; code "ok" and no message
//	          when it is answered again
const (
	eventHealth   = "health"
	eventTools    = "tools"
	eventMessages = "messages"
	eventProblem  = "problem"
)

// marshal writes proto field names and every field, as the REST API does.
var marshal = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// Handler serves GET /v1/live as text/event-stream.
type Handler struct {
	status statusv1.StatusServiceServer
	// Interval is how often the status is asked; Heartbeat how often a
	// comment keeps proxies from closing a quiet stream.
	Interval, Heartbeat time.Duration
	// MessageLimit is how many of the newest messages each tick reads.
	MessageLimit int32
	// Stop ends every stream, e.g. when the gateway shuts down.
	Stop <-chan struct{}
}

// New streams from status, which is called in-process.
func New(status statusv1.StatusServiceServer) *Handler {
	return &Handler{status: status, Interval: time.Second, Heartbeat: 15 * time.Second, MessageLimit: 100}
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

	s := &stream{w: w, flush: flusher.Flush, status: h.status, limit: h.MessageLimit, ctx: withAuthorization(r)}
	// The browser reconnects after this many milliseconds if the stream breaks.
	s.write("retry: 3000\n\n")
	tick := time.NewTicker(h.Interval)
	defer tick.Stop()
	beat := time.NewTicker(h.Heartbeat)
	defer beat.Stop()
	s.tick()
	for s.err == nil {
		select {
		case <-r.Context().Done():
			return
		case <-h.Stop:
			return
		case <-beat.C:
			s.write(": still here\n\n")
		case <-tick.C:
			s.tick()
		}
	}
}

// withAuthorization passes the request's bearer token on as the gRPC
// metadata the status server checks, so that reads protected by the
// admin token are served to whoever sends it.
func withAuthorization(r *http.Request) context.Context {
	ctx := r.Context()
	if a := r.Header.Get("Authorization"); a != "" {
		ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", a))
	}
	return ctx
}

// stream is one client's state: what it was sent already.
type stream struct {
	w      http.ResponseWriter
	flush  func()
	status statusv1.StatusServiceServer
	ctx    context.Context
	limit  int32
	err    error // the first write error: the client is gone

	tools    *statusv1.ListToolsResponse
	seen     map[string]bool
	problems map[string]string
}

func (s *stream) tick() {
	if health, err := s.status.GetHealth(s.ctx, &statusv1.GetHealthRequest{}); s.answered(eventHealth, err) {
		s.send(eventHealth, health)
	}
	if tools, err := s.allTools(); s.answered(eventTools, err) && !proto.Equal(tools, s.tools) {
		s.tools = tools
		s.send(eventTools, tools)
	}
	if msgs, err := s.status.ListMessages(s.ctx, &statusv1.ListMessagesRequest{Limit: s.limit}); s.answered(eventMessages, err) {
		if fresh := s.fresh(msgs.GetMessages()); fresh != nil {
			s.send(eventMessages, &statusv1.ListMessagesResponse{Messages: fresh})
		}
	}
}

// allTools reads every page.
func (s *stream) allTools() (*statusv1.ListToolsResponse, error) {
	all := &statusv1.ListToolsResponse{}
	req := &statusv1.ListToolsRequest{PageSize: 1000}
	for {
		resp, err := s.status.ListTools(s.ctx, req)
		if err != nil {
			return nil, err
		}
		all.Tools = append(all.Tools, resp.GetTools()...)
		if resp.GetNextPageToken() == "" || resp.GetNextPageToken() == req.PageToken {
			return all, nil
		}
		req.PageToken = resp.GetNextPageToken()
	}
}

// fresh returns the messages this client has not been sent, newest first
// as given. It remembers only the last answer: the feed reads the newest
// messages, so an older one never comes back.
func (s *stream) fresh(msgs []*statusv1.Message) []*statusv1.Message {
	first := s.seen == nil
	seen := make(map[string]bool, len(msgs))
	var fresh []*statusv1.Message
	for _, m := range msgs {
		k := key(m)
		seen[k] = true
		if first || !s.seen[k] {
			fresh = append(fresh, m)
		}
	}
	s.seen = seen
	if first && fresh == nil {
		// Say so once, so that the page knows the feed is empty.
		return []*statusv1.Message{}
	}
	return fresh
}

func key(m *statusv1.Message) string {
	return fmt.Sprintf("%d|%s|%s", m.GetSentAt().AsTime().UnixNano(), m.GetEventId(), m.GetTopic())
}

// answered reports whether err is nil; otherwise it tells the client what
// could not be answered, once per distinct failure.
func (s *stream) answered(about string, err error) bool {
	if s.problems == nil {
		s.problems = map[string]string{}
	}
	if err == nil {
		if _, failed := s.problems[about]; failed {
			delete(s.problems, about)
			s.sendJSON(eventProblem, problem{About: about, Code: "ok"}.json())
		}
		return true
	}
	if s.ctx.Err() != nil {
		return false
	}
	p := problemOf(about, err)
	if s.problems[about] != p.Message {
		s.problems[about] = p.Message
		s.sendJSON(eventProblem, p.json())
	}
	return false
}

func (s *stream) send(event string, m proto.Message) {
	doc, err := marshal.Marshal(m)
	if err != nil {
		s.sendJSON(eventProblem, problem{About: event, Code: "internal", Message: err.Error()}.json())
		return
	}
	s.sendJSON(event, doc)
}

// sendJSON writes one event; doc is compact JSON, so one data line.
func (s *stream) sendJSON(event string, doc []byte) {
	s.write("event: " + event + "\ndata: " + string(doc) + "\n\n")
}

func (s *stream) write(text string) {
	if s.err != nil {
		return
	}
	if _, s.err = fmt.Fprint(s.w, text); s.err == nil {
		s.flush()
	}
}
