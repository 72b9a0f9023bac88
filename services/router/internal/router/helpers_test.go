package router

import (
	"context"
	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// rulesV1 publishes every event on its own topic; rulesV2 adds a copy
// for displays; rulesBroken has a mistake on line 6, column 9.
const (
	rulesV1 = `version: 1
rules:
  - name: plugin-topics
    publish: [{topic: "{prefix}{topic}"}]
`
	rulesV2 = `version: 1
rules:
  - name: displays
    match: {event: tool_enabled}
    publish: [{topic: "{prefix}displays/{tool_id}"}]
    continue: true
  - name: no-reservations
    match: {topic: "nemo/reservations/#"}
    publish: []
  - name: plugin-topics
    publish: [{topic: "{prefix}{topic}"}]
`
	rulesBroken = `version: 1
rules:
  - name: plugin-topics
    publish:
      - topic: "{prefix}{topic}"
        qso: 1
`
)

// writeFile replaces path at once, as an editor or a deployment does, so
// that a watcher never reads half a file.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// rulesFile writes content to rules.yaml in a new directory.
func rulesFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	writeFile(t, path, content)
	return path
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newTestBook(t *testing.T, path, prefix string) *rulebook {
	t.Helper()
	b, err := openRulebook(path, rulesConfig{prefix: prefix}, testLog(t), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serve runs srv's RouterService on an in-memory connection for the test.
func serve(t *testing.T, srv *server) routerv1.RouterServiceClient {
	t.Helper()
	return routerv1.NewRouterServiceClient(inMemory(t, func(g *grpc.Server) { routerv1.RegisterRouterServiceServer(g, srv) }))
}

// inMemory serves what register registers on an in-memory connection for
// the test, and returns a client connection to it.
func inMemory(t *testing.T, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	register(g)
	go func() { _ = g.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); g.Stop() })
	return conn
}

// startRedis runs a throwaway redis-server for the test.
func startRedis(t *testing.T) *redis.Client { return redistest.Start(t) }

// decoded is ev with its payload read as ingest reads it.
func decoded(ev *bridgev1.Event) *bridgev1.Event {
	payload.Decode(ev)
	return ev
}
