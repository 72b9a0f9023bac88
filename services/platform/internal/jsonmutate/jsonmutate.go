// Package jsonmutate breaks JSON documents at random for the differential
// tests that hold a decoder to encoding/json's: the envelope's and the
// payload's.
package jsonmutate

import (
	"bytes"
	"math/rand/v2"
)

// Mutate changes one to three bytes of b to a byte that matters to JSON,
// inserting, deleting or replacing; b itself is left as it was.
func Mutate(rng *rand.Rand, b []byte) []byte {
	b = bytes.Clone(b)
	const alphabet = "{}[]\":,\\ u0129eE.-+tfn\t\n\xff\xc3\x01"
	for range 1 + rng.IntN(3) {
		c := alphabet[rng.IntN(len(alphabet))]
		switch i := rng.IntN(len(b) + 1); rng.IntN(3) {
		case 0:
			b = append(b[:i], append([]byte{c}, b[i:]...)...)
		case 1:
			if i < len(b) {
				b = append(b[:i], b[i+1:]...)
			}
		default:
			if i < len(b) {
				b[i] = c
			}
		}
	}
	return b
}
