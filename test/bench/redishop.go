package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// NEMO's XADD reaches ingest through Redis: Redis wakes for the XADD and
// answers the blocked read, then the reader wakes, two wake-ups before
// ingest has the event. The latency phase measures that hop in the same
// run as the wake-ups: a round trip through Redis to a process of its
// own, blocked in XREADGROUP as ingest is, which XADDs each entry back to
// a stream this program waits on.

// The streams of the round trip through Redis, and the group the child
// reads with.
const (
	redisHopOut   = "bench:hop-out"
	redisHopBack  = "bench:hop-back"
	redisHopGroup = "hop"
)

// measureRedisHops times n round trips through Redis to a stream-echo
// child, after burstGap idle each.
func measureRedisHops(ctx context.Context, rdb *redis.Client, redisURL string, n int) (trips roundTrips, err error) {
	if err := rdb.Del(ctx, redisHopOut, redisHopBack).Err(); err != nil {
		return trips, err
	}
	if err := rdb.XGroupCreateMkStream(ctx, redisHopOut, redisHopGroup, "$").Err(); err != nil {
		return trips, err
	}
	echo, err := startChild(childConfig{Kind: childStreamEcho, RedisURL: redisURL}, &childCPU{})
	if err != nil {
		return trips, err
	}
	defer func() { err = errors.Join(err, echo.finish()) }()
	return timeRedisRoundTrips(ctx, rdb, n, burstGap)
}

// timeRedisRoundTrips XADDs an entry to redisHopOut n times, idle for idle
// before each, and waits in a blocked XREAD of redisHopBack, sent in the
// same write, until it comes back.
func timeRedisRoundTrips(ctx context.Context, rdb *redis.Client, n int, idle time.Duration) (roundTrips, error) {
	took := make([]time.Duration, 0, n)
	last := "0-0"
	for i := range n {
		time.Sleep(idle)
		start := time.Now()
		pipe := rdb.Pipeline()
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: redisHopOut, Values: []any{"i", i}})
		back := pipe.XRead(ctx, &redis.XReadArgs{Streams: []string{redisHopBack, last}, Count: 1, Block: time.Second})
		if _, err := pipe.Exec(ctx); err != nil {
			return roundTrips{}, fmt.Errorf("round trip %d through Redis: %w", i, err)
		}
		took = append(took, time.Since(start))
		last = back.Val()[0].Messages[0].ID
	}
	p50, p99, _ := percentilesOf(took)
	return roundTrips{p50, p99}, nil
}

// runStreamEchoChild is the far end of the round trip through Redis: it
// reads redisHopOut in its group, a blocking XREADGROUP at a time, and
// XADDs each entry to redisHopBack, until its standard input ends.
func runStreamEchoChild(ctx context.Context, cfg childConfig) error {
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return err
	}
	fmt.Println("ready")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	echoed := make(chan error, 1)
	go func() { echoed <- echoEntries(ctx, rdb) }()
	input := readWork(ctx, func(string) error { return nil })
	cancel()
	if err := <-echoed; err != nil && ctx.Err() == nil {
		return err
	}
	return input
}

// echoEntries XADDs what it reads from redisHopOut to redisHopBack, and
// acknowledges it, until ctx ends.
func echoEntries(ctx context.Context, rdb *redis.Client) error {
	for ctx.Err() == nil {
		res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: redisHopGroup, Consumer: "echo", Streams: []string{redisHopOut, ">"}, Count: 16, Block: time.Second,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return err
		}
		pipe := rdb.Pipeline()
		for _, m := range res[0].Messages {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: redisHopBack, Values: m.Values})
			pipe.XAck(ctx, redisHopOut, redisHopGroup, m.ID)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}
