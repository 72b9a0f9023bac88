package mqttsession

import (
	"bufio"
	"net"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/rawsock"
)

// quickAckConn asks the kernel, before every read from the socket, to
// acknowledge what arrives at once instead of delaying the ACK (Linux
// resets TCP_QUICKACK by itself, hence every read). Its reads are
// buffered: paho reads a packet's header a byte at a time, which would
// cost a system call (and a setsockopt) per byte; with the buffer, one
// read takes in every PUBACK that has arrived. Reads and writes are raw
// system calls (rawsock); each write is made whole under the socket's
// write lock, which keeps each packet whole when paho writes from several
// goroutines.
type quickAckConn struct {
	*rawsock.Conn
	in *bufio.Reader
}

// socketReader reads from the socket itself, asking for a quick ACK
// first, after before (gatherer), if set.
type socketReader struct {
	conn   *rawsock.Conn
	before func()
}

func (r socketReader) Read(b []byte) (int, error) {
	if r.before != nil {
		r.before()
	}
	r.conn.QuickAck()
	return r.conn.Read(b)
}

// quickAck is c reading with quick ACKs, and calling beforeRead (if not
// nil) before each read of the socket.
func quickAck(c net.Conn, beforeRead func()) net.Conn {
	rc, ok := rawsock.Wrap(c).(*rawsock.Conn)
	if !ok {
		return beforeReads(c, beforeRead)
	}
	return &quickAckConn{Conn: rc, in: bufio.NewReaderSize(socketReader{rc, beforeRead}, 32<<10)}
}

func (c *quickAckConn) Read(b []byte) (int, error) { return c.in.Read(b) }
