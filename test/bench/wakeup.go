package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Each hop between processes begins with a process woken by what the one
// before it wrote. On a virtual machine that wake-up can cost more than
// the hop's own work, and it differs from machine to machine, so the
// latency phase measures it in the same run: a round trip to a process of
// its own over loopback TCP, after the steady phases' gap between bursts
// and back to back.

// roundTrips is what a series of round trips took.
type roundTrips struct{ p50, p99 time.Duration }

func (r roundTrips) String() string {
	return fmt.Sprintf("p50 %v p99 %v", r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
}

// measureWakeUps times round trips to an echo child: n after burstGap idle
// each, then 10n back to back.
func measureWakeUps(n int) (afterIdle, backToBack roundTrips, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return afterIdle, backToBack, err
	}
	defer ln.Close()
	echo, err := startChild(childConfig{Kind: childEcho, EchoAddr: ln.Addr().String()}, &childCPU{})
	if err != nil {
		return afterIdle, backToBack, err
	}
	defer func() { err = errors.Join(err, echo.finish()) }()
	// The child connected before it said it was ready.
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		return afterIdle, backToBack, fmt.Errorf("the echo child did not connect: %w", err)
	}
	defer conn.Close()
	if afterIdle, err = timeRoundTrips(conn, n, burstGap); err != nil {
		return afterIdle, backToBack, err
	}
	backToBack, err = timeRoundTrips(conn, 10*n, 0)
	return afterIdle, backToBack, err
}

// timeRoundTrips writes a small message to conn n times, idle for idle
// before each, and waits for it to come back.
func timeRoundTrips(conn net.Conn, n int, idle time.Duration) (roundTrips, error) {
	_ = conn.SetDeadline(time.Now().Add(time.Duration(n)*idle + 30*time.Second))
	msg, back := make([]byte, 16), make([]byte, 16)
	took := make([]time.Duration, 0, n)
	for range n {
		time.Sleep(idle)
		start := time.Now()
		if _, err := conn.Write(msg); err != nil {
			return roundTrips{}, fmt.Errorf("round trip: %w", err)
		}
		if _, err := io.ReadFull(conn, back); err != nil {
			return roundTrips{}, fmt.Errorf("round trip: %w", err)
		}
		took = append(took, time.Since(start))
	}
	p50, p99, _ := percentilesOf(took)
	return roundTrips{p50, p99}, nil
}

// runEchoChild is the echo's process: it writes back what it reads from
// cfg.EchoAddr until its standard input ends.
func runEchoChild(ctx context.Context, cfg childConfig) error {
	conn, err := net.Dial("tcp", cfg.EchoAddr)
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Println("ready")
	go echo(conn)
	return readWork(ctx, func(string) error { return nil })
}

// echo writes back what it reads, a read at a time, as a service answers
// what it is sent (io.Copy could splice it in the kernel, never waking
// this process), until the connection ends.
func echo(conn net.Conn) {
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		if _, err := conn.Write(buf[:n]); err != nil {
			return
		}
	}
}
