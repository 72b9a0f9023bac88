// Package grpcbuffers is the buffer pool the services' gRPC reads frames
// into and encodes messages in: gRPC's default tiers, without clearing
// every buffer it hands out.
//
// gRPC's default pool zeroes a whole pooled buffer on every Get (up to
// 32 KiB for a frame, 1 MiB for a batch of events): 2 – 5% of each
// service's CPU during a drain, for bytes that are overwritten before they
// are read. Every user of the pool in gRPC fills the length it asked for
// before reading it (the framer reads exactly a frame, the codec encodes
// from an empty slice, buffers copy whole), as gRPC's own pools for ALTS
// already rely on.
package grpcbuffers

import "sync"

// tierSizes are gRPC's default tiers: 256 B, the Go page (4 KiB), the
// largest HTTP/2 frame gRPC writes (16 KiB), io.Copy's buffer (32 KiB) and
// 1 MiB. A larger buffer is allocated for its request and left to the
// garbage collector.
var tierSizes = [...]int{256, 4 << 10, 16 << 10, 32 << 10, 1 << 20}

// Pool is a gRPC buffer pool (google.golang.org/grpc/mem.BufferPool)
// whose buffers come back with what they held before.
type Pool struct {
	tiers [len(tierSizes)]sync.Pool
}

// New returns an empty pool.
func New() *Pool { return &Pool{} }

// Get returns a buffer of length n from the smallest tier that holds n.
func (p *Pool) Get(n int) *[]byte {
	for i, size := range tierSizes {
		if n > size {
			continue
		}
		if buf, ok := p.tiers[i].Get().(*[]byte); ok {
			*buf = (*buf)[:n]
			return buf
		}
		buf := make([]byte, n, size)
		return &buf
	}
	buf := make([]byte, n)
	return &buf
}

// Put takes back a buffer Get returned (or a prefix of it); one of
// another capacity is left to the garbage collector.
func (p *Pool) Put(buf *[]byte) {
	for i, size := range tierSizes {
		if cap(*buf) == size {
			p.tiers[i].Put(buf)
			return
		}
	}
}
