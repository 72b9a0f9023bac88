package mqttsession

import (
	"iter"
	"slices"
)

// packetTable holds a value for each MQTT packet identifier in use. Every
// message in flight is looked up by its identifier several times (the
// isolation, the answer its sender waits for, the stored packet), and a
// drain keeps a thousand in flight; Go maps spent a tenth of the
// publisher's CPU on it. paho hands out identifiers in turn, so an
// identifier's own low bits place it in a table twice as large as what is
// in flight with hardly a collision: no hashing, and (unlike a slice of all
// 65,536) no more memory than the window needs. The rare identifier whose
// place is taken (one still in flight from a lap of the table ago) waits
// in a map beside it. (Linear probing was tried: identifiers in turn make
// one long run of it, which every removal had to walk.)
type packetTable[V any] struct {
	slots []packetSlot[V] // by identifier modulo their number, a power of two
	spill map[uint16]V    // those whose slot another identifier holds
	n     int
}

type packetSlot[V any] struct {
	id   uint16
	used bool
	v    V
}

const minPacketSlots = 1024

func (t *packetTable[V]) slot(id uint16) *packetSlot[V] {
	return &t.slots[int(id)&(len(t.slots)-1)]
}

// get returns the value of id, and whether it has one.
func (t *packetTable[V]) get(id uint16) (V, bool) {
	if t.n > 0 {
		if s := t.slot(id); s.used && s.id == id {
			return s.v, true
		}
		if v, ok := t.spill[id]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// put sets the value of id.
func (t *packetTable[V]) put(id uint16, v V) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	s := t.slot(id)
	switch {
	case s.used && s.id == id:
		s.v = v
		return
	case !s.used:
		if _, spilt := t.spill[id]; !spilt {
			*s = packetSlot[V]{id: id, used: true, v: v}
			t.n++
			return
		}
	}
	if t.spill == nil {
		t.spill = map[uint16]V{}
	}
	if _, ok := t.spill[id]; !ok {
		t.n++
	}
	t.spill[id] = v
}

// grow doubles the table and places everything again, the spilt too.
func (t *packetTable[V]) grow() {
	old, spill := t.slots, t.spill
	t.slots, t.spill, t.n = make([]packetSlot[V], max(minPacketSlots, 2*len(old))), nil, 0
	for _, s := range old {
		if s.used {
			t.put(s.id, s.v)
		}
	}
	for id, v := range spill {
		t.put(id, v)
	}
}

// take removes the value of id and returns it, and whether it had one.
func (t *packetTable[V]) take(id uint16) (V, bool) {
	var zero V
	if t.n == 0 {
		return zero, false
	}
	if s := t.slot(id); s.used && s.id == id {
		v := s.v
		*s = packetSlot[V]{} // nothing kept alive by a freed identifier
		t.n--
		return v, true
	}
	v, ok := t.spill[id]
	if ok {
		delete(t.spill, id)
		t.n--
	}
	return v, ok
}

func (t *packetTable[V]) len() int { return t.n }

// all yields every identifier in use with its value, in identifier order,
// as they were when it was called: the loop body may change the table.
func (t *packetTable[V]) all() iter.Seq2[uint16, V] {
	var in []packetSlot[V]
	for _, s := range t.slots {
		if s.used {
			in = append(in, s)
		}
	}
	for id, v := range t.spill {
		in = append(in, packetSlot[V]{id: id, used: true, v: v})
	}
	slices.SortFunc(in, func(a, b packetSlot[V]) int { return int(a.id) - int(b.id) })
	return func(yield func(uint16, V) bool) {
		for _, s := range in {
			if !yield(s.id, s.v) {
				return
			}
		}
	}
}

// clear removes every value.
func (t *packetTable[V]) clear() {
	clear(t.slots)
	t.spill = nil
	t.n = 0
}
