package mqttsession

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPacketTableKeepsEachIdentifiersValue(t *testing.T) {
	var tab packetTable[string]
	if _, ok := tab.get(7); ok || tab.len() != 0 {
		t.Fatal("an empty table has a value")
	}
	for _, id := range []uint16{0, 1, 63, 64, 65535} {
		tab.put(id, string(rune('a'+id%26)))
	}
	tab.put(64, "again") // replacing counts once
	if tab.len() != 5 {
		t.Fatalf("len = %d, want 5", tab.len())
	}
	if v, ok := tab.get(64); !ok || v != "again" {
		t.Fatalf("get(64) = %q, %v", v, ok)
	}
	if v, ok := tab.take(63); !ok || v != "l" || tab.len() != 4 {
		t.Fatalf("take(63) = %q, %v; len %d", v, ok, tab.len())
	}
	if _, ok := tab.take(63); ok {
		t.Fatal("63 taken twice")
	}
	var ids []uint16
	for id := range tab.all() {
		ids = append(ids, id)
		tab.take(id) // taking what all yields is allowed
	}
	if !slices.Equal(ids, []uint16{0, 1, 64, 65535}) || tab.len() != 0 {
		t.Fatalf("all = %v, len after taking all %d", ids, tab.len())
	}
	tab.put(5, "x")
	tab.clear()
	if _, ok := tab.get(5); ok || tab.len() != 0 {
		t.Fatal("clear left a value")
	}
}

// TestPacketTableAgreesWithAMap puts and takes identifiers as a session
// does (in turn, round the whole range, some answered late) and others at
// random, and checks every answer against a map.
func TestPacketTableAgreesWithAMap(t *testing.T) {
	var tab packetTable[int]
	want := map[uint16]int{}
	rng := rand.New(rand.NewPCG(1, 2))
	next := uint16(1)
	for step := range 300000 {
		switch r := rng.IntN(10); {
		case r < 5: // the next identifier in turn
			for {
				if _, used := want[next]; !used {
					break
				}
				next++
			}
			tab.put(next, step)
			want[next] = step
			next++
		case r < 6: // any identifier, colliding with those in use
			id := uint16(rng.IntN(1 << 16))
			tab.put(id, step)
			want[id] = step
		default: // an answer: mostly the oldest ones, sometimes any
			id := next - uint16(1+rng.IntN(2000))
			v, ok := tab.take(id)
			wv, wok := want[id]
			if ok != wok || v != wv {
				t.Fatalf("step %d: take(%d) = %d, %v; want %d, %v", step, id, v, ok, wv, wok)
			}
			delete(want, id)
		}
		if tab.len() != len(want) {
			t.Fatalf("step %d: len = %d, want %d", step, tab.len(), len(want))
		}
	}
	for id, wv := range want {
		if v, ok := tab.get(id); !ok || v != wv {
			t.Fatalf("get(%d) = %d, %v; want %d", id, v, ok, wv)
		}
	}
	n := 0
	for id, v := range tab.all() {
		if want[id] != v {
			t.Fatalf("all yields %d=%d, want %d", id, v, want[id])
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("all yields %d, want %d", n, len(want))
	}
}
