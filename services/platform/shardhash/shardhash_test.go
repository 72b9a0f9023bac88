package shardhash

import (
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
