//go:build !linux

package mqttsession

import "net"

// quickAck is Linux-only; elsewhere the connection is used as it is, but
// for beforeRead (if not nil), called before each read of the socket.
func quickAck(c net.Conn, beforeRead func()) net.Conn { return beforeReads(c, beforeRead) }
