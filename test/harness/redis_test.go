package harness

import (
	"context"
	"testing"
	"time"
)

// A test restarts Redis to prove the bridge survives it: it must come back
// on the same address, empty (nothing is saved).
func TestRedisStopAndStartAgainOnTheSamePort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := testEnv(t).StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	rdb := r.Client(1)
	defer rdb.Close()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(); err != nil {
		t.Fatalf("redis-server on SIGTERM: %v", err)
	}
	if err := WaitTCP(r.Addr, 100*time.Millisecond); err == nil {
		t.Fatal("Redis still accepts connections after Stop")
	}
	if err := r.Restart(); err != nil {
		t.Fatal(err)
	}
	rdb = r.Client(1) // the old client's pool backs off after the refused dials
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis on %s after Restart: %v", r.Addr, err)
	}
	if n, _ := rdb.Exists(ctx, "k").Result(); n != 0 {
		t.Error("Redis kept data across a restart; it must keep nothing on disk")
	}
}

// LPush must leave the list as the NEMO plugin does: newest at the head,
// so the oldest is what RPOP (or BLMOVE RIGHT) takes first.
func TestLPushLeavesTheOldestAtTheRightEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := testEnv(t).StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	rdb := r.Client(1)
	defer rdb.Close()
	envs := Envelopes(Events(1200, 3, 0))
	if err := LPush(ctx, rdb, "l", envs); err != nil {
		t.Fatal(err)
	}
	oldest, err := rdb.RPop(ctx, "l").Result()
	if err != nil || oldest != envs[0] {
		t.Fatalf("RPOP gave %q, %v; want the first pushed %q", oldest, err, envs[0])
	}
	if n, _ := rdb.LLen(ctx, "l").Result(); n != int64(len(envs)-1) {
		t.Fatalf("list holds %d, want %d", n, len(envs)-1)
	}
}
