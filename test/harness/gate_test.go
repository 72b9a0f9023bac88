package harness

import (
	"bufio"
	"bytes"
	"net"
	"testing"
	"time"
)

func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				s := bufio.NewScanner(c)
				for s.Scan() {
					_, _ = c.Write(append(s.Bytes(), '\n'))
				}
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestGateFreezeHoldsBytesAndTapCutsAConnection(t *testing.T) {
	e := testEnv(t)
	g, err := e.StartGate(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", g.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	roundTrip := func(line string, wait time.Duration) (string, error) {
		_ = c.SetReadDeadline(time.Now().Add(wait))
		if _, err := c.Write([]byte(line + "\n")); err != nil {
			return "", err
		}
		return r.ReadString('\n')
	}
	if got, err := roundTrip("one", 5*time.Second); err != nil || got != "one\n" {
		t.Fatalf("open gate: %q, %v", got, err)
	}
	g.Freeze()
	if got, err := roundTrip("two", 300*time.Millisecond); err == nil {
		t.Fatalf("frozen gate passed %q", got)
	}
	g.Thaw()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "two\n" {
		t.Fatalf("after thaw: %q, %v (held bytes must arrive)", got, err)
	}
	g.SetTap(func(_ int, dir Direction, chunk []byte) bool {
		return !(dir == ToClient && bytes.Contains(chunk, []byte("drop")))
	})
	if got, err := roundTrip("drop me", 5*time.Second); err == nil {
		t.Fatalf("the tapped reply arrived: %q", got)
	}
}
