package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/grpc"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/gateway/internal/statusapi"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

type healthOnly struct {
	statusv1.UnimplementedStatusServiceServer
}

func (healthOnly) GetHealth(context.Context, *statusv1.GetHealthRequest) (*statusv1.GetHealthResponse, error) {
	return &statusv1.GetHealthResponse{Healthy: true, Summary: "Everything is working: tool displays are up to date."}, nil
}

// mount serves srv as the gateway does: behind auth's interceptors on the
// in-process server, with REST, the live stream and the page on a test
// HTTP server that cuts bodies at 1 MiB, as the platform's does.
func mount(t *testing.T, srv statusv1.StatusServiceServer, auth *statusapi.Auth, readToken string) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	conn, stop, err := inProcess(srv, service.Interceptors{
		Unary:  []grpc.UnaryServerInterceptor{auth.Unary},
		Stream: []grpc.StreamServerInterceptor{auth.Stream},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	rt := &service.Runtime{HTTP: http.NewServeMux()}
	if err := mountREST(ctx, rt, conn, readToken); err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(http.MaxBytesHandler(rt.HTTP, 1<<20))
	t.Cleanup(server.Close)
	return server
}

// The page, the live stream and the REST API share one mux without
// shadowing each other.
func TestMountRESTRoutesThePageTheStreamAndTheAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := mount(t, healthOnly{}, statusapi.NewAuth("s3cret", false), "")

	for path, wantType := range map[string]string{
		"/":             "text/html",
		"/style.css":    "text/css",
		"/v1/health":    "application/json",
		"/openapi.json": "application/json",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), wantType) {
			t.Errorf("GET %s = %d %s, want 200 %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), wantType)
		}
	}

	reqCtx, stop := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, srv.URL+"/v1/live", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("GET /v1/live: Content-Type %q, want the live stream", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != "event: health" {
	}
	if sc.Text() != "event: health" {
		t.Fatalf("GET /v1/live: no health event (%v)", sc.Err())
	}
	stop()
	resp.Body.Close()

	resp, err = http.Post(srv.URL+"/v1/live", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Type") == "text/event-stream" {
		t.Error("POST /v1/live streams; only GET should")
	}
}

// storedTools answers from tool states as the router stores them in
// Redis, read back as the status server reads them.
type storedTools struct {
	statusv1.UnimplementedStatusServiceServer
	docs map[int32]string
}

func (s storedTools) tool(id int32) *statusv1.Tool {
	t, err := records.UnmarshalTool([]byte(s.docs[id]))
	if err != nil {
		panic(err)
	}
	return t
}

func (s storedTools) GetTool(_ context.Context, req *statusv1.GetToolRequest) (*statusv1.GetToolResponse, error) {
	return &statusv1.GetToolResponse{Tool: s.tool(req.GetId())}, nil
}

func (s storedTools) ListTools(context.Context, *statusv1.ListToolsRequest) (*statusv1.ListToolsResponse, error) {
	return &statusv1.ListToolsResponse{Tools: []*statusv1.Tool{s.tool(12), s.tool(13)}}, nil
}

// GET /v1/tools/{id} carries NEMO's /api/tool_status/ names beside the
// bridge's own, with NEMO's meaning: customer_name (the name without the
// username) and the current usage only while someone uses the tool, and
// user never naming someone whose usage ended.
func TestRESTToolsSpeakNEMOsToolStatus(t *testing.T) {
	// Tool 12 in use by Alice Martin with a problem open; tool 13 free
	// again after Bob Li's usage, as the router writes their states.
	srv := storedTools{docs: map[int32]string{
		12: `{"id":12,"name":"Raith EBPG","in_use":true,"user":"Alice Martin (amartin)","in_use_since":"2026-11-24T10:03:00Z","usage_id":77,"operational":true,"problematic":true,"shutdown":false,` +
			`"open_tasks":[{"id":4,"problem_description":"Chamber leak","force_shutdown":false,"safety_hazard":true,"created_at":null}],"last_event":"tool_enabled","last_event_at":"2026-11-24T10:03:00Z","sequence":"s:1",` +
			`"customer_name":"Alice Martin","current_usage_id":77,"current_usage_start":"2026-11-24T10:03:00Z","problem_descriptions":["Chamber leak"],"last_user":"Alice Martin (amartin)"}`,
		13: `{"id":13,"name":"Oxford ICP","in_use":false,"user":"","in_use_since":null,"usage_id":78,"operational":false,"problematic":false,"shutdown":false,` +
			`"open_tasks":[],"last_event":"tool_disabled","last_event_at":"2026-11-24T11:00:00Z","sequence":"s:2",` +
			`"current_usage_start":null,"problem_descriptions":[],"last_user":"Bob Li (bli)"}`,
	}}
	server := mount(t, srv, statusapi.NewAuth("s3cret", false), "")
	get := func(path string) map[string]any {
		t.Helper()
		resp, err := http.Get(server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var doc map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &doc) != nil {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, raw)
		}
		return doc
	}
	nemo := []string{"id", "name", "in_use", "operational", "problematic", "customer_name", "current_usage_id", "current_usage_start", "problem_descriptions"}
	pick := func(doc map[string]any, names ...string) map[string]any {
		out := map[string]any{}
		for _, k := range names {
			if v, ok := doc[k]; ok {
				out[k] = v
			}
		}
		return out
	}

	inUse := get("/v1/tools/12")
	want := map[string]any{
		"id": 12.0, "name": "Raith EBPG", "in_use": true, "operational": true, "problematic": true,
		"customer_name": "Alice Martin", "current_usage_id": 77.0, "current_usage_start": "2026-11-24T10:03:00Z",
		"problem_descriptions": []any{"Chamber leak"},
	}
	if got := pick(inUse, nemo...); !reflect.DeepEqual(got, want) {
		t.Errorf("GET /v1/tools/12, NEMO's fields:\n got %v\nwant %v", got, want)
	}
	if inUse["user"] != "Alice Martin (amartin)" || inUse["usage_id"] != 77.0 || inUse["open_tasks"] == nil {
		t.Errorf("GET /v1/tools/12 lost the bridge's own fields: %v", inUse)
	}

	// Nobody uses tool 13: NEMO writes null for its customer and usage,
	// and so does the gateway (the key is there, its value null).
	free := get("/v1/tools/13")
	for _, name := range []string{"customer_name", "current_usage_id", "current_usage_start"} {
		if v, ok := free[name]; !ok || v != nil {
			t.Errorf("GET /v1/tools/13: %s = %v (present: %v), want null with nobody using the tool", name, v, ok)
		}
	}
	wantFree := map[string]any{"problem_descriptions": []any{}, "user": "", "last_user": "Bob Li (bli)", "in_use": false}
	if got := pick(free, "problem_descriptions", "user", "last_user", "in_use"); !reflect.DeepEqual(got, wantFree) {
		t.Errorf("GET /v1/tools/13:\n got %v\nwant %v", got, wantFree)
	}

	list := get("/v1/tools")
	tools, _ := list["tools"].([]any)
	if len(tools) != 2 {
		t.Fatalf("GET /v1/tools = %v", list)
	}
	if got := pick(tools[0].(map[string]any), nemo...); !reflect.DeepEqual(got, want) {
		t.Errorf("GET /v1/tools, tool 12's NEMO fields:\n got %v\nwant %v", got, want)
	}
}

// writes answers a write and a read that takes a body, and says what it
// was given.
type writes struct {
	statusv1.UnimplementedStatusServiceServer
	replayed chan struct{}
}

func (w writes) ReplayAllDeadLetters(context.Context, *statusv1.ReplayAllDeadLettersRequest) (*statusv1.ReplayAllDeadLettersResponse, error) {
	w.replayed <- struct{}{}
	return &statusv1.ReplayAllDeadLettersResponse{Replayed: 2}, nil
}

func (writes) DryRunRules(_ context.Context, req *statusv1.DryRunRulesRequest) (*statusv1.DryRunRulesResponse, error) {
	return &statusv1.DryRunRulesResponse{MatchedRules: []string{req.GetTopic()}}, nil
}

func (writes) GetHealth(context.Context, *statusv1.GetHealthRequest) (*statusv1.GetHealthResponse, error) {
	return &statusv1.GetHealthResponse{Healthy: true}, nil
}

// post sends body as JSON (or as contentType) with header, and returns
// the status and the error document's message.
func post(t *testing.T, url, contentType, body string, header http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Message string `json:"message"`
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &doc)
	if resp.StatusCode != http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("POST %s = %d with %q, want a JSON error document", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, doc.Message
}

// REST reaches the status server through the authentication interceptor:
// a write without the token never reaches it, the HTTP Authorization
// header is the token, and -protect-reads guards reads over REST too.
func TestRESTGoesThroughTheAuthInterceptor(t *testing.T) {
	srv := writes{replayed: make(chan struct{}, 10)}
	server := mount(t, srv, statusapi.NewAuth("s3cret", false), "")
	const replay = "/v1/dead-letters:replay"
	for name, header := range map[string]http.Header{
		"no token":    nil,
		"wrong token": {"Authorization": {"Bearer s3cre"}},
	} {
		if code, msg := post(t, server.URL+replay, "application/json", "{}", header); code != http.StatusUnauthorized || !strings.Contains(msg, "admin token") {
			t.Errorf("replay all, %s: %d %q, want 401 asking for the admin token", name, code, msg)
		}
	}
	if len(srv.replayed) != 0 {
		t.Fatal("a write without the token reached the status server")
	}
	if code, msg := post(t, server.URL+replay, "application/json", "{}", http.Header{"Authorization": {"Bearer s3cret"}}); code != http.StatusOK || len(srv.replayed) != 1 {
		t.Fatalf("replay all with the token: %d %q, replayed %d times", code, msg, len(srv.replayed))
	}

	guarded := mount(t, srv, statusapi.NewAuth("s3cret", true), "s3cret")
	resp, err := http.Get(guarded.URL + "/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a protected read without the token: %d, want 401", resp.StatusCode)
	}
}

// Another web site open in the same browser cannot make the gateway do
// anything: its requests are refused for where they come from, and a
// simple request (a form, text/plain) for what it sends, token or not.
func TestRESTRefusesCrossSiteAndNonJSONPosts(t *testing.T) {
	srv := writes{replayed: make(chan struct{}, 10)}
	server := mount(t, srv, statusapi.NewAuth("s3cret", false), "")
	admin := http.Header{"Authorization": {"Bearer s3cret"}}
	const dryRun = "/v1/rules:dryRun"
	body := `{"topic":"nemo/tools/1/enabled"}`
	for _, contentType := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
		if code, msg := post(t, server.URL+dryRun, contentType, body, nil); code != http.StatusUnsupportedMediaType || !strings.Contains(msg, "application/json") {
			t.Errorf("a dry run sent as %q: %d %q, want 415 asking for JSON", contentType, code, msg)
		}
		if code, _ := post(t, server.URL+"/v1/dead-letters:replay", contentType, "", admin); code != http.StatusUnsupportedMediaType {
			t.Errorf("replay all sent as %q, with the token: %d, want 415", contentType, code)
		}
	}
	for name, header := range map[string]http.Header{
		"Sec-Fetch-Site cross-site":  {"Sec-Fetch-Site": {"cross-site"}},
		"Sec-Fetch-Site same-site":   {"Sec-Fetch-Site": {"same-site"}},
		"Origin of another web site": {"Origin": {"https://evil.example"}},
	} {
		header["Authorization"] = admin["Authorization"]
		if code, msg := post(t, server.URL+"/v1/dead-letters:replay", "application/json", "{}", header); code != http.StatusForbidden || !strings.Contains(msg, "another web site") {
			t.Errorf("replay all, %s: %d %q, want 403 in words", name, code, msg)
		}
	}
	if len(srv.replayed) != 0 {
		t.Fatal("a cross-site or non-JSON request reached the status server")
	}
	// The gateway's own page: same origin, JSON.
	page := http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {server.URL}, "Authorization": {"Bearer s3cret"}}
	if code, msg := post(t, server.URL+"/v1/dead-letters:replay", "application/json", "{}", page); code != http.StatusOK {
		t.Fatalf("replay all from the page: %d %q", code, msg)
	}
	if code, msg := post(t, server.URL+dryRun, "application/json; charset=utf-8", body, nil); code != http.StatusOK {
		t.Fatalf("a dry run from a program: %d %q", code, msg)
	}
}

// A body past the limit is answered 413, saying the limit, not 400 with
// Go's error.
func TestRESTAnswersAnOversizedBodyWith413InWords(t *testing.T) {
	server := mount(t, writes{}, statusapi.NewAuth("s3cret", false), "")
	big := `{"topic":"nemo/tools/1/enabled","payload":"` + strings.Repeat("x", 2<<20) + `"}`
	code, msg := post(t, server.URL+"/v1/rules:dryRun", "application/json", big, nil)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "1 MiB") {
		t.Fatalf("a 2 MiB dry run: %d %q, want 413 saying the 1 MiB limit", code, msg)
	}
}
