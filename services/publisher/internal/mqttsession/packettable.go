package mqttsession

import (
	"iter"
	"math/bits"
)

// packetTable holds a value for each MQTT packet identifier in use. Every
// message in flight is looked up by its identifier several times (the
// isolation, the answer its sender waits for, the stored packet), and a
// drain keeps a thousand in flight; a slice indexed by the identifier does
// that without hashing, where maps were a tenth of the publisher's CPU.
// paho hands out identifiers in turn through the whole range, so the slice
// is made whole on first use: 65,536 values (512 KiB for a pointer).
type packetTable[V any] struct {
	values []V
	used   []uint64 // a bit per identifier
	n      int
}

func (t *packetTable[V]) make() {
	if t.values == nil {
		t.values = make([]V, 1<<16)
		t.used = make([]uint64, 1<<16/64)
	}
}

func (t *packetTable[V]) has(id uint16) bool {
	return t.used != nil && t.used[id/64]&(1<<(id%64)) != 0
}

// get returns the value of id, and whether it has one.
func (t *packetTable[V]) get(id uint16) (V, bool) {
	if !t.has(id) {
		var zero V
		return zero, false
	}
	return t.values[id], true
}

// put sets the value of id.
func (t *packetTable[V]) put(id uint16, v V) {
	t.make()
	if !t.has(id) {
		t.used[id/64] |= 1 << (id % 64)
		t.n++
	}
	t.values[id] = v
}

// take removes the value of id and returns it, and whether it had one.
func (t *packetTable[V]) take(id uint16) (V, bool) {
	v, ok := t.get(id)
	if ok {
		var zero V
		t.values[id] = zero // nothing kept alive by a freed identifier
		t.used[id/64] &^= 1 << (id % 64)
		t.n--
	}
	return v, ok
}

func (t *packetTable[V]) len() int { return t.n }

// all yields every identifier in use with its value, in identifier order;
// the loop body may take the identifier it is given.
func (t *packetTable[V]) all() iter.Seq2[uint16, V] {
	return func(yield func(uint16, V) bool) {
		for w, word := range t.used {
			for word != 0 {
				id := uint16(w*64 + bits.TrailingZeros64(word))
				word &= word - 1
				if t.has(id) && !yield(id, t.values[id]) {
					return
				}
			}
		}
	}
}

// clear removes every value.
func (t *packetTable[V]) clear() {
	if t.n > 0 {
		clear(t.values)
		clear(t.used)
		t.n = 0
	}
}
