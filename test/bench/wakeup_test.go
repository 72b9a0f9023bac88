package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// echoPair is a loopback connection whose far end runs echo.
func echoPair(t *testing.T) (client net.Conn, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- conn
	}()
	if client, err = net.Dial("tcp", ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("no connection accepted")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	go echo(server)
	return client, server
}

// Each round trip waits for its message to come back, and the idle time
// before it is not counted in it.
func TestRoundTripsAreTimedFromWriteToEcho(t *testing.T) {
	client, _ := echoPair(t)
	const idle = 50 * time.Millisecond
	start := time.Now()
	got, err := timeRoundTrips(client, 10, idle)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 10*idle {
		t.Errorf("10 round trips after %v idle each took %v, want the idle time at least", idle, took)
	}
	if got.p50 <= 0 || got.p99 < got.p50 {
		t.Errorf("round trips %+v: want 0 < p50 <= p99", got)
	}
	if got.p50 >= idle {
		t.Errorf("p50 %v: the idle time before each round trip was counted in it", got.p50)
	}
}

// An echo that went away is an error, not a wait.
func TestARoundTripToAClosedEchoIsAnError(t *testing.T) {
	client, server := echoPair(t)
	server.Close()
	_, err := timeRoundTrips(client, 5, 0)
	if err == nil || !strings.Contains(err.Error(), "round trip") {
		t.Fatalf("round trips to a closed echo: %v, want a round trip error", err)
	}
}

// A round trip through Redis comes back through the stream echo, entry
// after entry, and the group's entries are acknowledged.
func TestRoundTripsThroughRedisComeBackFromTheStreamEcho(t *testing.T) {
	rdb := redistest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := rdb.XGroupCreateMkStream(ctx, redisHopOut, redisHopGroup, "$").Err(); err != nil {
		t.Fatal(err)
	}
	echoed := make(chan error, 1)
	go func() { echoed <- echoEntries(ctx, rdb) }()
	trips, err := timeRedisRoundTrips(ctx, rdb, 5, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if trips.p50 <= 0 || trips.p99 < trips.p50 {
		t.Fatalf("round trips %v: want a positive p50 and a p99 not below it", trips)
	}
	if n := rdb.XLen(ctx, redisHopBack).Val(); n != 5 {
		t.Fatalf("%d entries came back, want 5", n)
	}
	cancel()
	if err := <-echoed; err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	if pending := rdb.XPending(context.Background(), redisHopOut, redisHopGroup).Val(); pending.Count != 0 {
		t.Fatalf("%d entries left pending in the echo's group", pending.Count)
	}
}

// Without an echo the round trip ends in an error, not a hang.
func TestARoundTripThroughRedisWithoutAnEchoIsAnError(t *testing.T) {
	rdb := redistest.Start(t)
	if _, err := timeRedisRoundTrips(context.Background(), rdb, 1, 0); err == nil {
		t.Fatal("a round trip with nothing reading came back")
	}
}
