package mqttsession

import (
	"bufio"
	"net"
	"syscall"
)

// quickAckConn asks the kernel, before every read from the socket, to
// acknowledge what arrives at once instead of delaying the ACK (Linux
// resets TCP_QUICKACK by itself, hence every read). Its reads are
// buffered: paho reads a packet's header a byte at a time, which would
// cost a system call (and a setsockopt) per byte; with the buffer, one
// read takes in every PUBACK that has arrived. Writes go straight to the
// *net.TCPConn, whose writev keeps each packet whole when paho writes from
// several goroutines.
type quickAckConn struct {
	*net.TCPConn
	in *bufio.Reader
}

// socketReader reads from the socket itself, asking for a quick ACK
// first, after before (gatherer), if set.
type socketReader struct {
	tcp    *net.TCPConn
	raw    syscall.RawConn
	before func()
}

func (r socketReader) Read(b []byte) (int, error) {
	if r.before != nil {
		r.before()
	}
	_ = r.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return r.tcp.Read(b)
}

// quickAck is c reading with quick ACKs, and calling beforeRead (if not
// nil) before each read of the socket.
func quickAck(c net.Conn, beforeRead func()) net.Conn {
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return beforeReads(c, beforeRead)
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return beforeReads(c, beforeRead)
	}
	return &quickAckConn{TCPConn: tcp, in: bufio.NewReaderSize(socketReader{tcp, raw, beforeRead}, 32<<10)}
}

func (c *quickAckConn) Read(b []byte) (int, error) { return c.in.Read(b) }
