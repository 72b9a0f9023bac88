package mqttsession

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"sync"
)

// packetStore keeps the packets of the session the bridge sends (what
// paho's state resends after a reconnect) as the packets themselves, and
// encodes one only when the state reads it back to resend it. paho's
// memory store encodes every packet into a buffer as it is stored, a copy
// of every message that is almost never read: a resend happens only after
// a lost connection.
type packetStore struct {
	mu      sync.Mutex
	packets packetTable[storedPacket]
	seq     uint64 // order of Put, for List
}

type storedPacket struct {
	seq    uint64
	packet io.WriterTo
}

func newPacketStore() *packetStore { return &packetStore{} }

// Put keeps w, which must not change afterwards: paho's state stores a
// packet it built and does not touch again (a resend sets DUP on the copy
// Get gives).
func (s *packetStore) Put(id uint16, _ byte, w io.WriterTo) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.packets.put(id, storedPacket{seq: s.seq, packet: w})
	return nil
}

func (s *packetStore) Get(id uint16) (io.ReadCloser, error) {
	s.mu.Lock()
	p, ok := s.packets.get(id)
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("packet %d is not in the session", id)
	}
	var b bytes.Buffer
	if _, err := p.packet.WriteTo(&b); err != nil {
		return nil, err
	}
	return io.NopCloser(&b), nil
}

func (s *packetStore) Delete(id uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.packets.take(id)
	return nil
}

// Quarantine drops a packet the state could not read back.
func (s *packetStore) Quarantine(id uint16) error { return s.Delete(id) }

// List gives the packet identifiers in the order they were put, the order
// in which the session resends them.
func (s *packetStore) List() ([]uint16, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type put struct {
		id  uint16
		seq uint64
	}
	all := make([]put, 0, s.packets.len())
	for id, p := range s.packets.all() {
		all = append(all, put{id, p.seq})
	}
	slices.SortFunc(all, func(a, b put) int { return cmp.Compare(a.seq, b.seq) })
	ids := make([]uint16, len(all))
	for i, p := range all {
		ids[i] = p.id
	}
	return ids, nil
}

func (s *packetStore) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.packets.clear()
	return nil
}
