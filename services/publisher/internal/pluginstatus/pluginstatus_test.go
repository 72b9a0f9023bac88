package pluginstatus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server of the test's own, on a Unix socket so
// that it takes no port anyone else could want.
type redisServer struct {
	t      *testing.T
	socket string
	cmd    *exec.Cmd
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server): %v", err)
	}
	dir, err := os.MkdirTemp("", "status") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	r := &redisServer{t: t, socket: filepath.Join(dir, "redis.sock")}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", "0", "--unixsocket", r.socket,
		"--save", "", "--appendonly", "no", "--dir", filepath.Dir(r.socket))
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	c := r.client()
	defer c.Close()
	waitFor(r.t, 10*time.Second, func() error { return c.Ping(context.Background()).Err() })
}

func (r *redisServer) stop() {
	if r.cmd != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *redisServer) client() *redis.Client {
	return redis.NewClient(&redis.Options{Network: "unix", Addr: r.socket, DB: 1})
}

func waitFor(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer collects a logger's output while the keeper writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fastKeeper is a keeper on the plugin's timing scaled down 90 times: a
// TTL of 1 s, refreshed every third of it.
func fastKeeper(rdb *redis.Client, active func(context.Context) (bool, error), log *slog.Logger) *Keeper {
	k := New(rdb, active, log)
	k.ttl, k.refresh = time.Second, time.Second/3
	return k
}

func running(t *testing.T, k *Keeper) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); k.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return func() { cancel(); <-done }
}

func statusIs(rdb *redis.Client, want string) error {
	got, err := rdb.Get(context.Background(), "nemo_mqtt_bridge_status").Result()
	if err != nil || got != want {
		return fmt.Errorf("status %q (%v), want %q", got, err, want)
	}
	return nil
}

// A living keeper keeps the status past its TTL; one that died lets it
// expire, which is how the plugin's page learns that the bridge is gone.
func TestStatusIsRefreshedWhileRunningAndExpiresAfter(t *testing.T) {
	rdb := startRedis(t).client()
	defer rdb.Close()
	k := fastKeeper(rdb, nil, slog.New(slog.DiscardHandler))
	k.Connected(true)
	stop := running(t, k)
	waitFor(t, 5*time.Second, func() error { return statusIs(rdb, "connected") })
	time.Sleep(3 * k.ttl)
	if err := statusIs(rdb, "connected"); err != nil {
		t.Fatalf("after three TTLs: %v", err)
	}
	stop() // as a crash: nothing more is written
	waitFor(t, 5*time.Second, func() error {
		if err := rdb.Get(context.Background(), "nemo_mqtt_bridge_status").Err(); !errors.Is(err, redis.Nil) {
			return fmt.Errorf("status still there (%v)", err)
		}
		return nil
	})
}

// A publisher that lost its lease writes nothing; it writes again once it
// holds the lease.
func TestStatusIsWrittenOnlyWhileHoldingTheLease(t *testing.T) {
	rdb := startRedis(t).client()
	defer rdb.Close()
	var held atomic.Bool
	k := fastKeeper(rdb, func(context.Context) (bool, error) { return held.Load(), nil }, slog.New(slog.DiscardHandler))
	k.Connected(false)
	running(t, k)
	time.Sleep(3 * k.refresh)
	if err := rdb.Get(context.Background(), "nemo_mqtt_bridge_status").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("written without the lease (%v)", err)
	}
	held.Store(true)
	waitFor(t, 5*time.Second, func() error { return statusIs(rdb, "disconnected") })
}

// A Redis outage is logged once, whatever happens meanwhile, and its end
// once; the state of the moment is written as soon as Redis is back.
func TestRedisOutageIsLoggedOnce(t *testing.T) {
	server := startRedis(t)
	rdb := server.client()
	defer rdb.Close()
	var log syncBuffer
	k := fastKeeper(rdb, nil, slog.New(slog.NewTextHandler(&log, nil)))
	k.Connected(true)
	running(t, k)
	waitFor(t, 5*time.Second, func() error { return statusIs(rdb, "connected") })

	server.stop()
	k.Connected(false)
	time.Sleep(5 * k.refresh)
	k.Connected(true)
	time.Sleep(5 * k.refresh)
	k.Connected(false)
	server.start()
	waitFor(t, 5*time.Second, func() error { return statusIs(rdb, "disconnected") })
	if n := strings.Count(log.String(), "cannot write the NEMO plugin's bridge status"); n != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", n, log.String())
	}
	if n := strings.Count(log.String(), "bridge status is written again"); n != 1 {
		t.Errorf("the end of the outage was logged %d times, want once:\n%s", n, log.String())
	}
}

// A clean stop leaves "disconnected", refreshed no more.
func TestStoppedSaysDisconnected(t *testing.T) {
	rdb := startRedis(t).client()
	defer rdb.Close()
	k := fastKeeper(rdb, nil, slog.New(slog.DiscardHandler))
	k.Connected(true)
	stop := running(t, k)
	waitFor(t, 5*time.Second, func() error { return statusIs(rdb, "connected") })
	stop()
	k.Stopped(context.Background())
	if err := statusIs(rdb, "disconnected"); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.TTL(context.Background(), "nemo_mqtt_bridge_status").Val(); ttl <= 0 || ttl > k.ttl {
		t.Fatalf("TTL %v, want up to %v", ttl, k.ttl)
	}
}
