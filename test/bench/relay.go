package main

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// relay forwards TCP connections to the broker while open and refuses
// them while cut, for the memory test's outage (see runMemory). It is the
// harness's Gate without its taps and freezing, and with one difference
// that matters for throughput: it asks the kernel to acknowledge at once
// on every read (TCP_QUICKACK), as the publisher does on its own socket.
// Without it mosquitto's Nagle and the relay's delayed ACKs hold each
// PUBACK up to 40 ms, and the drain measures that instead of the bridge.
type relay struct {
	addr   string
	target string
	open   atomic.Bool
	ln     net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

func startRelay(target string) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	r.open.Store(true)
	go r.serve()
	return r, nil
}

// cut refuses new connections and closes those open, as an outage would.
func (r *relay) cut() {
	r.open.Store(false)
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		c.Close()
	}
}

// reopen forwards new connections again.
func (r *relay) reopen() { r.open.Store(true) }

// close stops listening and closes every connection.
func (r *relay) close() {
	r.ln.Close()
	r.cut()
}

func (r *relay) serve() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		if !r.open.Load() {
			c.Close()
			continue
		}
		go r.forward(c)
	}
}

func (r *relay) forward(c net.Conn) {
	t, err := net.Dial("tcp", r.target)
	if err != nil {
		c.Close()
		return
	}
	r.mu.Lock()
	r.conns[c], r.conns[t] = struct{}{}, struct{}{}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { pipe(c, t); close(done) }()
	pipe(t, c)
	c.Close()
	t.Close()
	<-done
	r.mu.Lock()
	delete(r.conns, c)
	delete(r.conns, t)
	r.mu.Unlock()
}

// pipe copies src to dst until either fails, acknowledging at once.
func pipe(src, dst net.Conn) {
	defer src.Close()
	defer dst.Close()
	var raw syscall.RawConn
	if tcp, ok := src.(*net.TCPConn); ok {
		raw, _ = tcp.SyscallConn()
	}
	buf := make([]byte, 64<<10)
	for {
		if raw != nil {
			_ = raw.Control(func(fd uintptr) {
				_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
			})
		}
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
