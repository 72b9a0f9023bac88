package redistest

import (
	"context"
	"testing"
)

func TestStartGivesAWorkingRedis(t *testing.T) {
	rdb := Start(t)
	if err := rdb.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.Get(context.Background(), "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET k = %q, %v", v, err)
	}
}

func TestCallsCountsEachCommand(t *testing.T) {
	rdb := Start(t)
	ctx := context.Background()
	for range 3 {
		rdb.HSet(ctx, "h", "f", "v")
	}
	rdb.HGet(ctx, "h", "f")
	calls := Calls(t, rdb)
	if calls["hset"] != 3 || calls["hget"] != 1 || calls["xadd"] != 0 {
		t.Fatalf("Calls = %v; want hset 3, hget 1, no xadd", calls)
	}
}
