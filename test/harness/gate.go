package harness

import (
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
// It can also hold bytes back (a black-holed path) and show every chunk to
// a tap that may cut the connection (a reply lost to a reset).
type Gate struct {
	Addr   string
	target string
	open   atomic.Bool
	ln     net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	nextID int
	tap    Tap
	thawed chan struct{} // closed while bytes flow, open while frozen
}

// Direction says which way a chunk travels through the gate.
type Direction int

const (
	// ToTarget is from the connecting client to the target.
	ToTarget Direction = iota
	// ToClient is from the target back to the client.
	ToClient
)

// Tap sees each chunk read on connection conn (numbered from 1 in the
// order accepted) before it is passed on. Returning false closes both sides
// of that connection and the chunk is never delivered, as when a
// connection resets with a reply on the wire.
type Tap func(conn int, dir Direction, chunk []byte) bool

// StartGate listens on a free loopback port, open, forwarding to target.
func (e *Env) StartGate(target string) (*Gate, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &Gate{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}, thawed: make(chan struct{})}
	close(g.thawed)
	g.open.Store(true)
	go g.serve()
	e.onClose(func() { ln.Close(); g.Thaw(); g.cut() })
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

// Freeze holds back every byte both ways while the connections stay open
// and new ones are accepted, as a black-holed network path does: neither
// side hears an error, only silence.
func (g *Gate) Freeze() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.thawed:
		g.thawed = make(chan struct{})
	default: // already frozen
	}
}

// Thaw passes the held bytes on and lets everything flow again.
func (g *Gate) Thaw() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.thawed:
	default:
		close(g.thawed)
	}
}

// SetTap installs tap (nil removes it) for the chunks read from now on.
func (g *Gate) SetTap(tap Tap) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tap = tap
}

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
	id := g.track(c, t)
	go func() { g.pipe(id, ToTarget, c, t); t.Close(); c.Close() }()
	g.pipe(id, ToClient, t, c)
	c.Close()
	t.Close()
	g.untrack(c, t)
}

// pipe copies from src to dst, waiting while frozen and asking the tap.
func (g *Gate) pipe(id int, dir Direction, src, dst net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			g.mu.Lock()
			tap, thawed := g.tap, g.thawed
			g.mu.Unlock()
			<-thawed
			if tap != nil && !tap(id, dir, buf[:n]) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (g *Gate) track(cs ...net.Conn) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range cs {
		g.conns[c] = struct{}{}
	}
	g.nextID++
	return g.nextID
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
