package mqttsession

import (
	"net"
	"syscall"
)

// quickAckConn asks the kernel, before every read, to acknowledge what
// arrives at once instead of delaying the ACK (Linux resets TCP_QUICKACK
// by itself, hence every read).
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
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
	return &quickAckConn{TCPConn: tcp, raw: raw}
}

func (c *quickAckConn) Read(b []byte) (int, error) {
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return c.TCPConn.Read(b)
}
