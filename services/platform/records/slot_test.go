package records

import (
	"context"
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// Slots as redis-cli CLUSTER KEYSLOT gives them (Redis 7.0.15), for keys
// with and without tags.
func TestSlotIsRedisClusters(t *testing.T) {
	for key, want := range map[string]int{
		"123456789":                     12739, // CRC16/XMODEM's check value 0x31C3
		"foo":                           12182,
		"nemo_mqtt_events":              13273,
		"{nemo_mqtt_events}:processing": 13273,
		"nemo_mqtt_events:processing":   7806,
		"nemo:bridge:tools":             4837,
		"{nemo:bridge:tools}:seq":       4837,
		"{user1000}.following":          3443,
		"foo{}{bar}":                    8363,
		"foo{{bar}}zap":                 4015,
		"foo{bar}{zap}":                 5061,
		"":                              0,
	} {
		if got := Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
}

// A sibling shares its key's slot, with or without a tag in the key, and
// the keys NEMO and readers outside the bridge know keep their names.
func TestSiblingSharesTheSlot(t *testing.T) {
	for _, c := range []struct{ key, suffix, want string }{
		{"nemo_mqtt_events", ":processing", "{nemo_mqtt_events}:processing"},
		{"NEMO_mqtt_events", ":processing", "{NEMO_mqtt_events}:processing"},
		{"nemo:bridge:tools", ":seq", "{nemo:bridge:tools}:seq"},
		{"nemo:bridge:lease:bridge-1", ":fence", "{nemo:bridge:lease:bridge-1}:fence"},
		{"{lab1}events", ":processing", "{lab1}events:processing"},
		{"lab{1}", ":x", "lab{1}:x"},
		{"a{b", ":x", "{a{b}:x"},
	} {
		got := Sibling(c.key, c.suffix)
		if got != c.want {
			t.Errorf("Sibling(%q, %q) = %q, want %q", c.key, c.suffix, got, c.want)
		}
		if !SameSlot(c.key, got) {
			t.Errorf("%q (slot %d) and %q (slot %d) differ", c.key, Slot(c.key), got, Slot(got))
		}
	}
	// A "}" without a tag cannot be followed: said, not hidden.
	for _, k := range []string{"a}b", "a{}b"} {
		if SameSlot(k, Sibling(k, ":x")) {
			t.Errorf("%q and %q said to share a slot", k, Sibling(k, ":x"))
		}
	}
	if ProcessingList(InputList) != InputProcessingList || !SameSlot(InputList, InputProcessingList) || !SameSlot(Tools, ToolSequences) {
		t.Error("the default keys do not share their slots")
	}
}

// An older version's key is carried over at start: renamed when the new
// one does not exist; merged when both do, so that nothing in flight is
// lost and a counter never goes back.
func TestCarryOver(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, err := CarryOver(ctx, rdb, "old", "new"); err != nil || n != NothingToCarry {
		t.Fatalf("no old key: %v, %v", n, err)
	}
	// Rename.
	must(rdb.RPush(ctx, "l:processing", "c", "b", "a").Err())
	if n, err := CarryOver(ctx, rdb, "l:processing", "{l}:processing"); err != nil || n != Renamed {
		t.Fatalf("rename: %v, %v", n, err)
	}
	if got := rdb.LRange(ctx, "{l}:processing", 0, -1).Val(); len(got) != 3 || got[2] != "a" || rdb.Exists(ctx, "l:processing").Val() != 0 {
		t.Fatalf("after the rename: %v", got)
	}
	// A list merged: the old entries (older) at the right, where they are
	// read first, oldest last.
	must(rdb.RPush(ctx, "l:processing", "z", "y").Err())
	if n, err := CarryOver(ctx, rdb, "l:processing", "{l}:processing"); err != nil || n != Merged {
		t.Fatalf("list merge: %v, %v", n, err)
	}
	if got := rdb.LRange(ctx, "{l}:processing", 0, -1).Val(); len(got) != 5 || got[0] != "c" || got[3] != "z" || got[4] != "y" {
		t.Fatalf("after the merge: %v, want c b a z y", got)
	}
	// A fence keeps the larger count, either way round.
	must(rdb.Set(ctx, "f:fence", 41, 0).Err())
	must(rdb.Set(ctx, "{f}:fence", 3, 0).Err())
	if n, err := CarryOver(ctx, rdb, "f:fence", "{f}:fence"); err != nil || n != Merged || rdb.Get(ctx, "{f}:fence").Val() != "41" {
		t.Fatalf("fence: %v, %v, %s", n, err, rdb.Get(ctx, "{f}:fence").Val())
	}
	must(rdb.Set(ctx, "f:fence", 7, 0).Err())
	if _, err := CarryOver(ctx, rdb, "f:fence", "{f}:fence"); err != nil || rdb.Get(ctx, "{f}:fence").Val() != "41" {
		t.Fatalf("an older, smaller fence lowered the count: %v, %s", err, rdb.Get(ctx, "{f}:fence").Val())
	}
	// A hash keeps the new fields and gains the old-only ones.
	must(rdb.HSet(ctx, "s:seq", "1", "old", "2", "old").Err())
	must(rdb.HSet(ctx, "{s}:seq", "1", "new").Err())
	if n, err := CarryOver(ctx, rdb, "s:seq", "{s}:seq"); err != nil || n != Merged {
		t.Fatalf("hash merge: %v, %v", n, err)
	}
	if got := rdb.HGetAll(ctx, "{s}:seq").Val(); got["1"] != "new" || got["2"] != "old" || rdb.Exists(ctx, "s:seq").Val() != 0 {
		t.Fatalf("after the hash merge: %v", got)
	}
	// Types that do not merge: the old key is left alone.
	must(rdb.Set(ctx, "x", "v", 0).Err())
	must(rdb.RPush(ctx, "{x}", "v").Err())
	if n, err := CarryOver(ctx, rdb, "x", "{x}"); err != nil || n != CannotMerge || rdb.Exists(ctx, "x").Val() != 1 {
		t.Fatalf("types that do not merge: %v, %v", n, err)
	}
}
