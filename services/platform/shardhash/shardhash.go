// Package shardhash says which of n shards owns a key, the same in every
// process and every version: the router uses it to send each tool's
// messages to one publisher shard, so that one MQTT session carries all of
// a tool's messages and their order holds.
//
// It is rendezvous (highest random weight) hashing over the shard numbers:
// each shard scores the key and the highest score wins. Going from n to
// n+1 shards moves only the keys the new shard now wins, about 1/(n+1) of
// them, and no key moves between two shards that were there before.
// Rank does the same over names (ingest ranks the router replicas by
// their addresses for each tool), giving every name in order of
// preference.
package shardhash

import (
	"cmp"
	"slices"
)

// Owner returns the shard, in [0, n), that owns key. n below 1 counts as
// one shard.
func Owner(key string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv1a(key)
	best, bestScore := 0, uint64(0)
	for shard := range n {
		if s := mix(h ^ mix(uint64(shard)+1)); shard == 0 || s > bestScore {
			best, bestScore = shard, s
		}
	}
	return best
}

// fnv1a is the 64-bit FNV-1a hash of s: fixed by its specification, so
// every router agrees on it, unlike hash/maphash's per-process seed.
func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix is splitmix64's finaliser: FNV alone leaves similar keys ("tool 11",
// "tool 12") with similar high bits, which would give most of them to one
// shard.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Rank orders names, the replicas a key may go to (their addresses, say),
// by how strongly each wants key, most first: the first is the key's
// owner, the second takes it when the first is gone, and so on. It scores
// each name rather than its position, so that the order of names does not
// matter and removing one moves only the keys it owned, each to its next
// name. Equal scores, and repeated names, keep their order in names.
func Rank(key string, names []string) []int {
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	if len(names) < 2 {
		return order
	}
	h := fnv1a(key)
	scores := make([]uint64, len(names))
	for i, name := range names {
		scores[i] = mix(h ^ mix(fnv1a(name)))
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	return order
}
