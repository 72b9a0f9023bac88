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

// socketReader reads from the socket itself, asking for a quick ACK first.
type socketReader struct {
	tcp *net.TCPConn
	raw syscall.RawConn
}

func (r socketReader) Read(b []byte) (int, error) {
	_ = r.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return r.tcp.Read(b)
}

func quickAck(c net.Conn) net.Conn {
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{TCPConn: tcp, in: bufio.NewReaderSize(socketReader{tcp, raw}, 32<<10)}
}

func (c *quickAckConn) Read(b []byte) (int, error) { return c.in.Read(b) }
