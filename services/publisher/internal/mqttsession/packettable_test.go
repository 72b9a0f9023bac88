package mqttsession

import (
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
