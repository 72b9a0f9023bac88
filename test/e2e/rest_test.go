package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// getJSON GETs url and decodes the body into v; it returns the status.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	return doJSON(t, http.MethodGet, url, "", nil, v)
}

func doJSON(t *testing.T, method, url, token string, body, v any) int {
	t.Helper()
	var in io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		in = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, in)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: Content-Type %q, want JSON (body %s)", method, url, ct, raw)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, raw)
		}
	}
	return resp.StatusCode
}

type restTool struct {
	ID          int32  `json:"id"`
	Name        string `json:"name"`
	InUse       bool   `json:"in_use"`
	User        string `json:"user"`
	UsageID     int32  `json:"usage_id"`
	Operational bool   `json:"operational"`
	LastEvent   string `json:"last_event"`
	// NEMO's /api/tool_status/ names.
	CustomerName   *string `json:"customer_name"`
	CurrentUsageID *int32  `json:"current_usage_id"`
}

type restError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type restHealth struct {
	Healthy bool   `json:"healthy"`
	Summary string `json:"summary"`
	Hops    []struct {
		Name    string `json:"name"`
		Healthy bool   `json:"healthy"`
		Summary string `json:"summary"`
	} `json:"hops"`
	RulesVersion string `json:"rules_version"`
}

// REST over real HTTP against the whole system on real Redis and
// mosquitto: tool state, errors with the right codes, the OpenAPI
// document, and health in words when the broker and Redis go away.
func TestRESTGatewayAnswersFromTheRunningSystem(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	gw, err := p.StartGateway("-admin-token-file", secretFile(t, p.Env, "admin-token", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + gw.HTTPAddr
	rdb := p.Redis.Client(1)
	events := []string{
		`{"topic":"nemo/tools/12/start","payload":{"event":"tool_usage_start","tool_id":12,"tool_name":"Raith EBL","user_name":"Alice Martin (amartin)","usage_id":77},"qos":1}`,
		`{"topic":"nemo/tools/13/disabled","payload":{"event":"tool_disabled","tool_id":13,"tool_name":"Oxford ICP"},"qos":1}`,
	}
	if err := harness.XAdd(ctx(t), rdb, "nemo:events", events); err != nil {
		t.Fatal(err)
	}

	var tool restTool
	eventually(t, 20*time.Second, func() error {
		if code := getJSON(t, base+"/v1/tools/12", &tool); code != http.StatusOK {
			return fmt.Errorf("GET /v1/tools/12: %d", code)
		}
		return nil
	})
	if !tool.InUse || tool.User != "Alice Martin (amartin)" || tool.UsageID != 77 || tool.Name != "Raith EBL" || tool.LastEvent != "tool_usage_start" {
		t.Fatalf("GET /v1/tools/12 = %+v, want Raith EBL in use by Alice Martin (usage 77)", tool)
	}
	if tool.CustomerName == nil || *tool.CustomerName != "Alice Martin" || tool.CurrentUsageID == nil || *tool.CurrentUsageID != 77 {
		t.Fatalf("GET /v1/tools/12: customer_name %v, current_usage_id %v; want NEMO's Alice Martin, 77", tool.CustomerName, tool.CurrentUsageID)
	}

	var list struct {
		Tools         []restTool `json:"tools"`
		NextPageToken string     `json:"next_page_token"`
	}
	eventually(t, 20*time.Second, func() error {
		getJSON(t, base+"/v1/tools?in_use=false", &list)
		if len(list.Tools) != 1 || list.Tools[0].ID != 13 {
			return fmt.Errorf("GET /v1/tools?in_use=false = %+v, want tool 13 alone", list.Tools)
		}
		return nil
	})
	var free restTool
	if code := getJSON(t, base+"/v1/tools/13", &free); code != http.StatusOK || free.InUse || free.CustomerName != nil || free.CurrentUsageID != nil {
		t.Fatalf("GET /v1/tools/13 = %d %+v, want nobody using it and no customer", code, free)
	}
	if code := getJSON(t, base+"/v1/tools?page_size=1", &list); code != 200 || len(list.Tools) != 1 || list.Tools[0].ID != 12 || list.NextPageToken == "" {
		t.Fatalf("first page of one: %d %+v", code, list)
	}
	if code := getJSON(t, base+"/v1/tools?page_size=1&page_token="+list.NextPageToken, &list); code != 200 || len(list.Tools) != 1 || list.Tools[0].ID != 13 || list.NextPageToken != "" {
		t.Fatalf("second page of one: %d %+v", code, list)
	}

	var rerr restError
	if code := getJSON(t, base+"/v1/tools/4040", &rerr); code != http.StatusNotFound || !strings.Contains(rerr.Message, "4040") {
		t.Fatalf("unknown tool: %d %+v, want 404 naming the id", code, rerr)
	}
	if code := getJSON(t, base+"/v1/tools/twelve", &rerr); code != http.StatusBadRequest {
		t.Fatalf("malformed id: %d %+v, want 400", code, rerr)
	}

	var messages struct {
		Messages []struct {
			Topic       string `json:"topic"`
			PayloadText string `json:"payload_text"`
			ToolID      int32  `json:"tool_id"`
		} `json:"messages"`
	}
	eventually(t, 10*time.Second, func() error {
		getJSON(t, base+"/v1/messages?tool_id=12&topic_filter=nemo/tools/%2B/start", &messages)
		if len(messages.Messages) != 1 || !strings.Contains(messages.Messages[0].PayloadText, "Alice Martin") {
			return fmt.Errorf("GET /v1/messages for tool 12 on nemo/tools/+/start = %+v", messages.Messages)
		}
		return nil
	})

	// The running totals behind events/s and messages/s: two events in,
	// each out on its own topic and as its tool's status snapshot.
	eventually(t, 10*time.Second, func() error {
		totals, err := rdb.HGetAll(ctx(t), "nemo:bridge:counters").Result()
		if err != nil || totals["events_in"] != "2" || totals["messages_out"] != "4" {
			return fmt.Errorf("nemo:bridge:counters = %v, %v; want events_in 2, messages_out 4", totals, err)
		}
		return nil
	})

	var doc struct {
		Swagger string         `json:"swagger"`
		Paths   map[string]any `json:"paths"`
	}
	getJSON(t, base+"/openapi.json", &doc)
	for _, path := range []string{"/v1/tools", "/v1/tools/{id}", "/v1/health", "/v1/messages", "/v1/dead-letters", "/v1/dead-letters/{id}:replay"} {
		if doc.Paths[path] == nil {
			t.Errorf("/openapi.json has no %s (paths: %v)", path, keysOf(doc.Paths))
		}
	}

	var health restHealth
	eventually(t, 20*time.Second, func() error {
		getJSON(t, base+"/v1/health", &health)
		if !health.Healthy || health.RulesVersion == "" {
			return fmt.Errorf("health with everything up: %+v", health)
		}
		return nil
	})

	var trip struct {
		Topic       string  `json:"topic"`
		RoundTripMs float64 `json:"round_trip_ms"`
	}
	if code := doJSON(t, http.MethodPost, base+"/v1/test-message", "", struct{}{}, &rerr); code != http.StatusUnauthorized {
		t.Fatalf("test message without the admin token: %d %+v, want 401", code, rerr)
	}
	if code := doJSON(t, http.MethodPost, base+"/v1/test-message", "s3cret", struct{}{}, &trip); code != http.StatusOK || trip.RoundTripMs <= 0 || !strings.HasPrefix(trip.Topic, "nemo/bridge/test/") {
		t.Fatalf("test message with the broker up: %d %+v", code, trip)
	}
	t.Logf("test message round trip: %.2f ms", trip.RoundTripMs)

	if err := p.Broker.Stop(); err != nil {
		t.Logf("mosquitto stop: %v", err)
	}
	eventually(t, 20*time.Second, func() error {
		getJSON(t, base+"/v1/health", &health)
		if health.Healthy || !strings.Contains(health.Summary, "cannot reach the MQTT broker") {
			return fmt.Errorf("health with the broker stopped: %+v", health)
		}
		return nil
	})
	t.Logf("broker stopped: %s", health.Summary)
	if code := doJSON(t, http.MethodPost, base+"/v1/test-message", "s3cret", struct{}{}, &rerr); code != http.StatusServiceUnavailable || rerr.Message == "" {
		t.Fatalf("test message with the broker down: %d %+v, want 503 in words", code, rerr)
	}
	t.Logf("test message with the broker down: %s", rerr.Message)

	p.Redis.Kill9()
	eventually(t, 20*time.Second, func() error {
		if code := getJSON(t, base+"/v1/tools/12", &rerr); code != http.StatusServiceUnavailable || !strings.Contains(rerr.Message, "Redis") {
			return fmt.Errorf("GET /v1/tools/12 with Redis down: %d %+v, want 503 saying Redis", code, rerr)
		}
		getJSON(t, base+"/v1/health", &health)
		if !strings.Contains(health.Summary, "Redis") {
			return fmt.Errorf("health with Redis down: %+v", health)
		}
		return nil
	})
	t.Logf("Redis stopped: %s", health.Summary)
}

// Dead letters over REST: listed with the reason, and replayed back into
// the input only with the admin token.
func TestRESTDeadLettersReplayNeedsTheToken(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	token := secretFile(t, p.Env, "admin-token", "s3cret")
	gw, err := p.StartGateway("-admin-token-file", token)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + gw.HTTPAddr
	rdb := p.Redis.Client(1)
	if err := rdb.XAdd(ctx(t), &redis.XAddArgs{Stream: "nemo:events", Values: []any{"event", "this is not JSON"}}).Err(); err != nil {
		t.Fatal(err)
	}
	type letters struct {
		DeadLetters []struct {
			ID     string `json:"id"`
			Code   string `json:"code"`
			Reason string `json:"reason"`
			Entry  string `json:"entry"`
		} `json:"dead_letters"`
		Total string `json:"total"`
	}
	var dl letters
	eventually(t, 20*time.Second, func() error {
		getJSON(t, base+"/v1/dead-letters", &dl)
		if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].Code != "not_json" || dl.DeadLetters[0].Reason == "" {
			return fmt.Errorf("GET /v1/dead-letters = %+v", dl)
		}
		return nil
	})
	first := dl.DeadLetters[0].ID
	var rerr restError
	if code := doJSON(t, http.MethodPost, base+"/v1/dead-letters/"+first+":replay", "", struct{}{}, &rerr); code != http.StatusUnauthorized {
		t.Fatalf("replay without the token: %d %+v, want 401", code, rerr)
	}
	if code := doJSON(t, http.MethodPost, base+"/v1/dead-letters/"+first+":replay", "wrong", struct{}{}, &rerr); code != http.StatusUnauthorized {
		t.Fatalf("replay with a wrong token: %d %+v, want 401", code, rerr)
	}
	if code := doJSON(t, http.MethodPost, base+"/v1/dead-letters/"+first+":replay", "s3cret", struct{}{}, nil); code != http.StatusOK {
		t.Fatalf("replay with the token: %d", code)
	}
	// Back in the input, it is refused again: a new letter, same entry.
	eventually(t, 20*time.Second, func() error {
		getJSON(t, base+"/v1/dead-letters", &dl)
		if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].ID == first || dl.DeadLetters[0].Entry != `{"event":"this is not JSON"}` {
			return fmt.Errorf("after replay: %+v", dl)
		}
		return nil
	})
	if code := doJSON(t, http.MethodPost, base+"/v1/dead-letters/"+first+":replay", "s3cret", struct{}{}, &rerr); code != http.StatusNotFound {
		t.Fatalf("replaying a letter twice: %d %+v, want 404", code, rerr)
	}
	// With -protect-reads, reads need the token too, over REST and on
	// the page's live stream.
	guarded, err := p.StartGateway("-admin-token-file", token, "-protect-reads")
	if err != nil {
		t.Fatal(err)
	}
	if code := getJSON(t, "http://"+guarded.HTTPAddr+"/v1/tools", &rerr); code != http.StatusUnauthorized {
		t.Fatalf("a protected read without the token: %d %+v, want 401", code, rerr)
	}
	if code := doJSON(t, http.MethodGet, "http://"+guarded.HTTPAddr+"/v1/health", "s3cret", nil, nil); code != http.StatusOK {
		t.Fatalf("a protected read with the token: %d, want 200", code)
	}
	if first := liveEvent(t, "http://"+guarded.HTTPAddr+"/v1/live", ""); !strings.Contains(first, "unauthenticated") {
		t.Fatalf("the live stream without the token began with %q, want an unauthenticated problem", first)
	}
	if first := liveEvent(t, "http://"+guarded.HTTPAddr+"/v1/live", "s3cret"); !strings.HasPrefix(first, "event: health") {
		t.Fatalf("the live stream with the token began with %q, want health", first)
	}

	var all struct {
		Replayed string `json:"replayed"`
	}
	if code := doJSON(t, http.MethodPost, base+"/v1/dead-letters:replay", "s3cret", struct{}{}, &all); code != http.StatusOK || all.Replayed != "1" {
		t.Fatalf("replay all: %d %+v", code, all)
	}
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// liveEvent reads the first event of a server-sent event stream.
func liveEvent(t *testing.T, url, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(c))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var event strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, ":") || strings.HasPrefix(line, "retry:"):
		case line == "" && event.Len() > 0:
			return event.String()
		case line != "":
			event.WriteString(line + "\n")
		}
	}
	t.Fatalf("the live stream %s ended before an event: %v", url, sc.Err())
	return ""
}

// A gateway given no token makes one, logs it once, and refuses every
// write without it, a test message included; the REST API refuses what a
// web page elsewhere can send, a body past 1 MiB (413, in words), headers
// past 64 KiB (431), and a client trickling its headers.
func TestRESTWritesNeedATokenAndRequestsAreBounded(t *testing.T) {
	t.Parallel()
	p := startPipeline(t, harness.PipelineOptions{})
	gw, err := p.StartGateway()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + gw.HTTPAddr
	var rerr restError
	for _, path := range []string{"/v1/test-message", "/v1/dead-letters:replay", "/v1/rules:reload"} {
		if code := doJSON(t, http.MethodPost, base+path, "", struct{}{}, &rerr); code != http.StatusUnauthorized {
			t.Fatalf("POST %s with no token given to the gateway nor sent: %d %+v, want 401", path, code, rerr)
		}
	}
	logged := regexp.MustCompile(`admin_token=([A-Z2-7]+)`).FindAllStringSubmatch(readLog(t, p.Env, "gateway"), -1)
	if len(logged) != 1 {
		t.Fatalf("the gateway logged %d admin tokens, want the one it made, once", len(logged))
	}
	token := logged[0][1]
	var trip struct {
		RoundTripMs float64 `json:"round_trip_ms"`
	}
	eventually(t, 20*time.Second, func() error {
		if code := doJSON(t, http.MethodPost, base+"/v1/test-message", token, struct{}{}, &trip); code != http.StatusOK {
			return fmt.Errorf("test message with the token from the log: %d", code)
		}
		return nil
	})

	send := func(contentType, body string, header http.Header) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/dead-letters:replay", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+token)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc restError
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		return resp.StatusCode, doc.Message
	}
	if code, msg := send("text/plain", "{}", nil); code != http.StatusUnsupportedMediaType {
		t.Errorf("a text/plain POST, token and all: %d %q, want 415", code, msg)
	}
	if code, msg := send("application/json", "{}", http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}); code != http.StatusForbidden || !strings.Contains(msg, "another web site") {
		t.Errorf("a POST from another web site, token and all: %d %q, want 403 in words", code, msg)
	}

	big := `{"topic":"nemo/tools/1/enabled","payload":"` + strings.Repeat("x", 2<<20) + `"}`
	resp, err := http.Post(base+"/v1/rules:dryRun", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&rerr)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(rerr.Message, "1 MiB") {
		t.Fatalf("a 2 MiB dry run: %d %+v, want 413 saying the 1 MiB limit", resp.StatusCode, rerr)
	}
	t.Logf("2 MiB dry run: %d %s", resp.StatusCode, rerr.Message)

	req, _ := http.NewRequest(http.MethodGet, base+"/v1/health", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 80<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("80 KiB of headers: %d, want 431", resp.StatusCode)
	}

	// A slowloris: a header line every half second, never the end.
	conn, err := net.Dial("tcp", gw.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	began := time.Now()
	fmt.Fprint(conn, "GET /v1/health HTTP/1.1\r\nHost: gateway\r\n")
	cut := make(chan error, 1)
	go func() {
		_, err := bufio.NewReader(conn).ReadString('\n')
		cut <- err
	}()
	giveUp := time.After(20 * time.Second)
	for i := 0; ; i++ {
		select {
		case err := <-cut:
			if err == nil || time.Since(began) > 10*time.Second {
				t.Fatalf("the trickling client: answered (%v) after %v, want cut within 10 s", err, time.Since(began))
			}
			t.Logf("a client trickling its headers was cut after %v", time.Since(began).Round(100*time.Millisecond))
			return
		case <-time.After(500 * time.Millisecond):
			fmt.Fprintf(conn, "X-Trickle-%d: a\r\n", i)
		case <-giveUp:
			t.Fatal("a client trickling its headers is still connected after 20 s")
		}
	}
}

// readLog is what a process of env has logged so far.
func readLog(t *testing.T, env *harness.Env, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.Dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
