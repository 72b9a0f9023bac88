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
