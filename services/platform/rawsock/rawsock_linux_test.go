package rawsock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pair is a connection dialed and the one accepted for it, both wrapped.
func pair(t *testing.T, userTimeout time.Duration) (dialed, accepted net.Conn) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	wrapped := Listener{Listener: lis, UserTimeout: userTimeout}
	got := make(chan net.Conn, 1)
	go func() {
		c, err := wrapped.Accept()
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	dialed, err = Dial(context.Background(), &net.Dialer{}, "tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted = <-got
	t.Cleanup(func() { dialed.Close(); accepted.Close() })
	return dialed, accepted
}

func TestBytesArriveWholeBothWaysPastFullSocketBuffers(t *testing.T) {
	a, b := pair(t, 0)
	if _, ok := a.(*Conn); !ok {
		t.Fatalf("dialed connection is %T, not wrapped", a)
	}
	if _, ok := b.(*Conn); !ok {
		t.Fatalf("accepted connection is %T, not wrapped", b)
	}
	data := make([]byte, 8<<20) // far beyond both sockets' buffers: writes wait for room
	for i := range data {
		data[i] = byte(i * 7)
	}
	go func() { _, _ = io.Copy(b, b) }() // echo, reading in whatever pieces arrive
	done := make(chan error, 1)
	go func() {
		_, err := a.Write(data)
		done <- err
	}()
	back := make([]byte, len(data))
	if _, err := io.ReadFull(a, back); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(back) != sha256.Sum256(data) {
		t.Fatal("the bytes echoed differ from those written")
	}
}

func TestEachWriteStaysWholeWhenSeveralGoroutinesWrite(t *testing.T) {
	a, b := pair(t, 0)
	const writers, blocks, size = 8, 20, 64 << 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			block := bytes.Repeat([]byte{byte('a' + w)}, size)
			for range blocks {
				if _, err := a.Write(block); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); a.Close() }()
	all, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != writers*blocks*size {
		t.Fatalf("read %d bytes, want %d", len(all), writers*blocks*size)
	}
	for at := 0; at < len(all); at += size {
		if block := all[at : at+size]; !bytes.Equal(block, bytes.Repeat(block[:1], size)) {
			t.Fatalf("the block at %d mixes two writes", at)
		}
	}
}

func TestErrorsAreReportedAsPackageNetReportsThem(t *testing.T) {
	t.Run("the peer closed", func(t *testing.T) {
		a, b := pair(t, 0)
		b.Close()
		if n, err := a.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Fatalf("Read = %d, %v; want 0, io.EOF", n, err)
		}
	})
	t.Run("a deadline", func(t *testing.T) {
		a, _ := pair(t, 0)
		_ = a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, err := a.Read(make([]byte, 10))
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read past its deadline: %v; want a timeout", err)
		}
		if want := "read tcp "; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
			t.Fatalf("error %q does not start %q as net's do", err, want)
		}
	})
	t.Run("closed here", func(t *testing.T) {
		a, _ := pair(t, 0)
		a.Close()
		if _, err := a.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read after Close: %v; want net.ErrClosed", err)
		}
		if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Write after Close: %v; want net.ErrClosed", err)
		}
	})
	t.Run("reset by the peer", func(t *testing.T) {
		a, b := pair(t, 0)
		_ = b.(*Conn).Conn.(*net.TCPConn).SetLinger(0) // close with a reset
		b.Close()
		time.Sleep(20 * time.Millisecond)
		_, err := a.Read(make([]byte, 10))
		var se *os.SyscallError
		if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &se) {
			t.Fatalf("Read after a reset: %v; want ECONNRESET as a system call error", err)
		}
	})
}

// go-redis and gRPC make system calls of their own on a connection that
// offers SyscallConn.
func TestTheSocketIsNotHandedOut(t *testing.T) {
	a, _ := pair(t, 0)
	if _, ok := a.(syscall.Conn); ok {
		t.Fatal("a wrapped connection offers SyscallConn")
	}
}

func TestUserTimeoutIsSetOnAcceptedAndDialedConnections(t *testing.T) {
	a, b := pair(t, 7*time.Second)
	if err := SetUserTimeout(a, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		conn net.Conn
		want int
	}{{a, 3000}, {b, 7000}} {
		var got int
		var err error
		_ = c.conn.(*Conn).raw.Control(func(fd uintptr) {
			got, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout)
		})
		if err != nil || got != c.want {
			t.Fatalf("TCP_USER_TIMEOUT = %d ms (%v), want %d", got, err, c.want)
		}
	}
}
