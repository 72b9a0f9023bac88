package harness

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Gate forwards TCP connections to a target while open and refuses them
// while shut. It is not a broker: TLS and MQTT run through it unchanged. A
// test puts it between the bridge and the real broker to decide when the
// bridge may reconnect, for example only after a test subscriber is back,
// since mosquitto 2.0 does not restore MQTT v5 sessions after a restart
// and drops what arrives for a subscriber that has not resubscribed yet.
type Gate struct {
	Addr   string
	target string
	open   atomic.Bool
	ln     net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
}

// StartGate listens on a free loopback port, open, forwarding to target.
func (e *Env) StartGate(target string) (*Gate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &Gate{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	g.open.Store(true)
	go g.serve()
	e.onClose(func() { ln.Close(); g.cut() })
	return g, nil
}

// Shut refuses new connections (those open stay until their peer closes).
func (g *Gate) Shut() { g.open.Store(false) }

// Cut shuts the gate and closes the connections through it, as a network
// outage would: the broker keeps running, and keeps the bridge's session.
func (g *Gate) Cut() {
	g.Shut()
	g.cut()
}

// Open forwards new connections again.
func (g *Gate) Open() { g.open.Store(true) }

func (g *Gate) serve() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		if !g.open.Load() {
			c.Close()
			continue
		}
		go g.forward(c)
	}
}

func (g *Gate) forward(c net.Conn) {
	t, err := net.Dial("tcp", g.target)
	if err != nil {
		c.Close()
		return
	}
	g.track(c, t)
	go func() { _, _ = io.Copy(t, c); t.Close() }()
	_, _ = io.Copy(c, t)
	c.Close()
	g.untrack(c, t)
}

func (g *Gate) track(cs ...net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range cs {
		g.conns[c] = struct{}{}
	}
}

func (g *Gate) untrack(cs ...net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range cs {
		delete(g.conns, c)
	}
}

func (g *Gate) cut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for c := range g.conns {
		c.Close()
	}
}
