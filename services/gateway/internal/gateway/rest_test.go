package gateway

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
)

type healthOnly struct {
	statusv1.UnimplementedStatusServiceServer
}

func (healthOnly) GetHealth(context.Context, *statusv1.GetHealthRequest) (*statusv1.GetHealthResponse, error) {
	return &statusv1.GetHealthResponse{Healthy: true, Summary: "Everything is working: tool displays are up to date."}, nil
}

// The page, the live stream and the REST API share one mux without
// shadowing each other.
func TestMountRESTRoutesThePageTheStreamAndTheAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt := &service.Runtime{HTTP: http.NewServeMux()}
	if err := mountREST(ctx, rt, healthOnly{}, ""); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt.HTTP)
	defer srv.Close()

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
