package service

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// Between the services, gRPC sends no PING of its own while data flows:
// the windows are fixed, so it does not estimate them (a PING on the
// first data of each burst, and its answer, in both directions). Calls
// in bursts through a proxy that reads the HTTP/2 frames, between a
// service's server and a DialPeer connection, see none; keepalive's come
// only after 10 s of silence.
func TestPeersSendNoFlowControlPings(t *testing.T) {
	addr := startService(t, Options{}, serving)
	proxy, pings := pingCountingProxy(t, addr)
	conn, err := (&Runtime{}).DialPeer(proxy)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for range 20 {
		for range 3 {
			if err := checkConn(conn); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	if n := pings.Load(); n > 0 {
		t.Errorf("%d PING frames in 20 bursts of calls, want none (gRPC estimates its windows: set them)", n)
	}
}

// pingCountingProxy forwards one connection to addr and counts the PING
// frames (not their answers) that go either way.
func pingCountingProxy(t *testing.T, addr string) (string, *atomic.Int64) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	pings := &atomic.Int64{}
	go func() {
		client, err := lis.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", addr)
		if err != nil {
			client.Close()
			return
		}
		t.Cleanup(func() { client.Close(); server.Close() })
		go countPings(io.TeeReader(client, server), len("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), pings)
		go countPings(io.TeeReader(server, client), 0, pings)
	}()
	return lis.Addr().String(), pings
}

// countPings reads HTTP/2 frames from r after skip bytes (the client's
// preface) until it ends.
func countPings(r io.Reader, skip int, pings *atomic.Int64) {
	in := bufio.NewReader(r)
	if _, err := in.Discard(skip); err != nil {
		return
	}
	var header [9]byte
	for {
		if _, err := io.ReadFull(in, header[:]); err != nil {
			return
		}
		length := int(binary.BigEndian.Uint32(header[0:4]) >> 8)
		const ping, ack = 0x6, 0x1
		if header[3] == ping && header[4]&ack == 0 {
			pings.Add(1)
		}
		if _, err := in.Discard(length); err != nil {
			return
		}
	}
}
