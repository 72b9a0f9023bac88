package main

import (
	"net"
	"strings"
	"testing"
	"time"
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
