package batch

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// What has piled up goes in one batch, at most max at a time, in order.
func TestDrainTakesWhatIsThere(t *testing.T) {
	ch := make(chan int, 10)
	for i := range 5 {
		ch <- i
	}
	var got [][]int
	stop := errors.New("stop")
	err := Drain(context.Background(), ch, 3, func(b []int) error {
		got = append(got, slices.Clone(b))
		if len(got) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the handler's", err)
	}
	if want := [][]int{{0, 1, 2}, {3, 4}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", got, want)
	}
}

func TestDrainEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Drain(ctx, make(chan int), 3, func([]int) error { t.Fatal("handled nothing"); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
