// Package grpcbuffers is the buffer pool the services' gRPC reads frames
// into and encodes messages in: buffers in powers of two, handed out
// without being cleared.
//
// gRPC's default pool has five tiers (256 B, 4, 16 and 32 KiB, 1 MiB) and
// zeroes a whole buffer on every Get. A batch of events encodes to 50 –
// 300 KiB, so each took a 1 MiB buffer: cleared when it was reused, and
// allocated (zeroed by the runtime) when it was not, which was often, as
// those allocations brought on the garbage collections that empty the
// pool. Both were 2 – 5% of each service's CPU, for bytes gRPC overwrites
// before it reads them. Every user of the pool in gRPC fills the length
// it asked for before reading it (the framer reads exactly a frame, the
// codec encodes into an empty slice of the size it measured, buffers copy
// whole), as gRPC's own pools for ALTS already rely on.
package grpcbuffers

import (
	"math/bits"
	"sync"
)

const (
	// smallest and largest are the exponents of the smallest and the
	// largest pooled size: 256 B, and 4 MiB, gRPC's default limit on a
	// message received. A larger buffer is allocated for its request and
	// left to the garbage collector.
	smallest, largest = 8, 22
)

// Pool is a gRPC buffer pool (google.golang.org/grpc/mem.BufferPool)
// whose buffers come back with what they held before.
type Pool struct {
	tiers [largest - smallest + 1]sync.Pool
}

// New returns an empty pool.
func New() *Pool { return &Pool{} }

// tier is the index of the smallest tier that holds n bytes, or false
// beyond the largest.
func tier(n int) (int, bool) {
	exp := max(smallest, bits.Len(uint(max(n, 1)-1)))
	return exp - smallest, exp <= largest
}

// Get returns a buffer of length n from the smallest tier that holds n.
func (p *Pool) Get(n int) *[]byte {
	i, pooled := tier(n)
	if !pooled {
		buf := make([]byte, n)
		return &buf
	}
	if buf, ok := p.tiers[i].Get().(*[]byte); ok {
		*buf = (*buf)[:n]
		return buf
	}
	buf := make([]byte, n, 1<<(i+smallest))
	return &buf
}

// Put takes back a buffer Get returned (or a prefix of it); one whose
// capacity is not a tier's size is left to the garbage collector.
func (p *Pool) Put(buf *[]byte) {
	c := cap(*buf)
	if i, pooled := tier(c); pooled && c == 1<<(i+smallest) {
		p.tiers[i].Put(buf)
	}
}
