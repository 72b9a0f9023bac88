package mqttsession

import "net"

// beforeReadConn calls before ahead of each read of its connection.
type beforeReadConn struct {
	net.Conn
	before func()
}

func (c *beforeReadConn) Read(b []byte) (int, error) {
	c.before()
	return c.Conn.Read(b)
}

// beforeReads is c calling before ahead of each read, or c itself when
// before is nil.
func beforeReads(c net.Conn, before func()) net.Conn {
	if before == nil {
		return c
	}
	return &beforeReadConn{Conn: c, before: before}
}
