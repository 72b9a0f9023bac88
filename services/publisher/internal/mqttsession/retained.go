package mqttsession

import (
	"context"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// Retained is a message the broker keeps for new subscribers.
type Retained struct {
	Topic   string
	Payload []byte
}

// retainedQuiet is how long after the last retained message a read ends:
// the broker sends every retained message right after its SUBACK, in one
// burst.
const retainedQuiet = 250 * time.Millisecond

// ReadRetained answers the retained messages on the topics of filter, as a
// device subscribing now would get them (the last one per topic).
func (s *Session) ReadRetained(ctx context.Context, filter string) ([]Retained, error) {
	var mu sync.Mutex
	byTopic := map[string][]byte{}
	var order []string
	heardAny := make(chan struct{}, 1)
	heard := func(p *paho.Publish) {
		if !p.Retain {
			return // a live message, not what the broker keeps
		}
		mu.Lock()
		if _, seen := byTopic[p.Topic]; !seen {
			order = append(order, p.Topic)
		}
		byTopic[p.Topic] = p.Payload
		mu.Unlock()
		select {
		case heardAny <- struct{}{}:
		default:
		}
	}
	err := s.subscribed(ctx, filter, heard, func() error {
		quiet := time.NewTimer(retainedQuiet)
		defer quiet.Stop()
		for {
			select {
			case <-heardAny:
				quiet.Reset(retainedQuiet)
			case <-quiet.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	out := make([]Retained, 0, len(order))
	for _, t := range order {
		out = append(out, Retained{Topic: t, Payload: byTopic[t]})
	}
	return out, nil
}
