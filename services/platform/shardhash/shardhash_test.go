package shardhash

import (
	"slices"
	"strconv"
	"testing"
)

// The owners are part of the contract between router replicas of
// different versions during a rolling update: they must never change.
func TestOwnersNeverChange(t *testing.T) {
	for _, c := range []struct {
		key  string
		n    int
		want int
	}{
		{"12", 0, 0}, {"12", 1, 0}, {"12", 2, 0}, {"12", 16, 0},
		{"tool 7", 2, 1}, {"tool 7", 3, 1}, {"tool 7", 16, 13},
		{"nemo/tools/3", 4, 0}, {"nemo/tools/3", 16, 8},
		{"", 2, 1}, {"", 4, 3},
	} {
		if got := Owner(c.key, c.n); got != c.want {
			t.Errorf("Owner(%q, %d) = %d, want %d", c.key, c.n, got, c.want)
		}
	}
}

// Tool ids are small consecutive numbers: they must still spread evenly.
func TestConsecutiveKeysSpreadEvenly(t *testing.T) {
	const keys, n = 100_000, 4
	counts := make([]int, n)
	for i := range keys {
		counts[Owner(strconv.Itoa(i), n)]++
	}
	for shard, c := range counts {
		if share := float64(c) / keys; share < 0.23 || share > 0.27 {
			t.Errorf("shard %d owns %.3f of the keys, want about 0.25 (%v)", shard, share, counts)
		}
	}
}

// Adding a shard moves only the keys it takes, about 1/(n+1) of them.
func TestAddingAShardMovesOnlyWhatItTakes(t *testing.T) {
	const keys = 60_000
	for n := 1; n <= 5; n++ {
		moved := 0
		for i := range keys {
			key := strconv.Itoa(i)
			before, after := Owner(key, n), Owner(key, n+1)
			if before == after {
				continue
			}
			if after != n {
				t.Fatalf("going from %d to %d shards moved %q from shard %d to %d, an old shard", n, n+1, key, before, after)
			}
			moved++
		}
		want := float64(keys) / float64(n+1)
		if got := float64(moved); got < 0.9*want || got > 1.1*want {
			t.Errorf("going from %d to %d shards moved %d keys, want about %.0f", n, n+1, moved, want)
		}
	}
}

// Rank's orders pin tools to router replicas: they must never change
// either, or a new ingest would disagree with the routers' spread.
func TestRanksNeverChange(t *testing.T) {
	names := []string{"router-0.router:7002", "router-1.router:7002", "router-2.router:7002"}
	for _, c := range []struct {
		key   string
		names []string
		want  []int
	}{
		{"tool:12", names, []int{0, 2, 1}},
		{"tool:7", names, []int{0, 2, 1}},
		{"topic:nemo/areas/2", names, []int{1, 2, 0}},
		{"", names, []int{1, 2, 0}},
		{"tool:12", names[:2], []int{0, 1}},
		{"topic:nemo/areas/2", names[:2], []int{1, 0}},
		{"tool:12", names[:1], []int{0}},
		{"tool:12", nil, []int{}},
	} {
		if got := Rank(c.key, c.names); !slices.Equal(got, c.want) {
			t.Errorf("Rank(%q, %v) = %v, want %v", c.key, c.names, got, c.want)
		}
	}
}

// A key's order of names does not depend on the order they are given in,
// and each name comes first for about 1/n of the keys.
func TestRankScoresNamesNotPositions(t *testing.T) {
	names := []string{"a:1", "b:1", "c:1", "d:1"}
	reversed := []string{"d:1", "c:1", "b:1", "a:1"}
	first := map[string]int{}
	const keys = 40_000
	for i := range keys {
		key := "tool:" + strconv.Itoa(i)
		got, rev := Rank(key, names), Rank(key, reversed)
		for j := range got {
			if names[got[j]] != reversed[rev[j]] {
				t.Fatalf("key %q: order %v over %v but %v over %v", key, got, names, rev, reversed)
			}
		}
		first[names[got[0]]]++
	}
	for name, c := range first {
		if share := float64(c) / keys; share < 0.23 || share > 0.27 {
			t.Errorf("%s comes first for %.3f of the keys, want about 0.25 (%v)", name, share, first)
		}
	}
}

// Removing a name leaves every key's order of the others as it was: the
// keys it owned go to their second name, and no other key moves.
func TestRankWithoutANameKeepsTheOthersOrder(t *testing.T) {
	names := []string{"a:1", "b:1", "c:1"}
	for i := range 10_000 {
		key := strconv.Itoa(i)
		all := Rank(key, names)
		var want []string
		for _, j := range all {
			if names[j] != "b:1" {
				want = append(want, names[j])
			}
		}
		var got []string
		for _, j := range Rank(key, []string{"a:1", "c:1"}) {
			got = append(got, []string{"a:1", "c:1"}[j])
		}
		if !slices.Equal(got, want) {
			t.Fatalf("key %q: without b:1 the order is %v, want %v", key, got, want)
		}
	}
}
