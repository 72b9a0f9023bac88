//go:build !linux

package rawsock

import (
	"net"
	"time"
)

// Wrap is c: raw reads and writes are made on Linux only.
func Wrap(c net.Conn) net.Conn { return c }

// SetUserTimeout does nothing: Wrap leaves connections as they are.
func SetUserTimeout(net.Conn, time.Duration) error { return nil }
