package rawsock

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Conn is a TCP connection whose Read and Write are raw system calls.
//
// It does not offer SyscallConn, on purpose: a library handed one makes
// its own system calls on the socket, the very ones Conn avoids. go-redis
// peeks at a pooled connection before every command; without the peek, a
// connection closed under it is found by the command itself, as on the
// platforms where go-redis has no peek. gRPC's transport sets
// TCP_USER_TIMEOUT on a *net.TCPConn only; SetUserTimeout does it here.
type Conn struct {
	net.Conn // the *net.TCPConn, for all but Read and Write
	raw      syscall.RawConn
}

// Wrap is c reading and writing with raw system calls when it is a TCP
// connection, and c as it is otherwise.
func Wrap(c net.Conn) net.Conn {
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		return c
	}
	return &Conn{Conn: tcp, raw: raw}
}

// Read reads what the socket has, waiting until it has something.
func (c *Conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			}
			n, errno = int(r), e
			return true
		}
	})
	if err == nil && errno != 0 {
		err = errno
	}
	if err != nil {
		return 0, c.opError("read", err)
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of b, waiting whenever the socket's buffer is full.
func (c *Conn) Write(b []byte) (int, error) {
	var n int
	var errno syscall.Errno
	err := c.raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
			switch e {
			case 0:
				n += int(r)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				errno = e
				return true
			}
		}
		return true
	})
	if err == nil && errno != 0 {
		err = errno
	}
	if err != nil {
		return n, c.opError("write", err)
	}
	return n, nil
}

// QuickAck asks the kernel to acknowledge what arrives next at once
// instead of delaying the ACK (Linux resets it by itself after a while).
func (c *Conn) QuickAck() {
	one := int32(1)
	_ = c.raw.Control(func(fd uintptr) {
		syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, uintptr(unsafe.Pointer(&one)), 4, 0)
	})
}

// SetUserTimeout bounds how long data written on c, a Conn, may stay
// unacknowledged before the kernel gives the connection up
// (TCP_USER_TIMEOUT); other connections are left as they are.
func SetUserTimeout(conn net.Conn, d time.Duration) error {
	c, ok := conn.(*Conn)
	if !ok {
		return nil
	}
	var err error
	if cerr := c.raw.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout, int(d.Milliseconds()))
	}); cerr != nil {
		return cerr
	}
	return os.NewSyscallError("setsockopt", err)
}

// tcpUserTimeout is TCP_USER_TIMEOUT, which package syscall does not name.
const tcpUserTimeout = 0x12

// opError is err as the net package reports it for op: an errno wrapped
// as a system call's error, the netpoller's (a deadline, a closed
// connection) unwrapped from the raw connection's own report.
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		err = oe.Err
	}
	if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
