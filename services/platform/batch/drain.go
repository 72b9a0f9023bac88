// Package batch turns a channel of single items into batches, for work
// that costs per call rather than per item (a Redis pipeline, a stream
// send).
package batch

import "context"

// Drain hands what arrives on ch to handle in batches of at most max: it
// waits for one item, then takes whatever else is already there. Batching
// what has piled up costs no latency when traffic is light and saves round
// trips when it is heavy. It returns when ctx ends or handle fails.
func Drain[T any](ctx context.Context, ch <-chan T, max int, handle func([]T) error) error {
	for {
		var first T
		select {
		case first = <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		batch := []T{first}
	fill:
		for len(batch) < max {
			select {
			case v := <-ch:
				batch = append(batch, v)
			default:
				break fill
			}
		}
		if err := handle(batch); err != nil {
			return err
		}
	}
}
