package status

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// backlog is how far the pipeline is behind NEMO.
type backlog struct {
	waiting, inFlight int64
	// oldest is when NEMO wrote the oldest event not yet acknowledged;
	// zero when unknown (the list holds no times) or nothing waits.
	oldest time.Time
}

// readBacklog looks at the input the way ingest reads it. Pub/sub keeps
// nothing, so it has no backlog to show.
func (s *Server) readBacklog(ctx context.Context) (backlog, error) {
	switch s.input.Mode {
	case "stream":
		return s.streamBacklog(ctx)
	case "list":
		pipe := s.rdb.Pipeline()
		waiting := pipe.LLen(ctx, s.input.List)
		inFlight := pipe.LLen(ctx, s.input.ProcessingList)
		_, err := pipe.Exec(ctx)
		return backlog{waiting: waiting.Val(), inFlight: inFlight.Val()}, err
	}
	return backlog{}, nil
}

// streamBacklog reads the consumer group: entries not yet delivered (lag),
// delivered but not acknowledged (pending), and the oldest of either,
// whose stream id is the time it was written.
func (s *Server) streamBacklog(ctx context.Context) (backlog, error) {
	groups, err := s.rdb.XInfoGroups(ctx, s.input.Stream).Result()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return backlog{}, nil // NEMO has written nothing yet
		}
		return backlog{}, err
	}
	var b backlog
	for _, g := range groups {
		if g.Name != s.input.Group {
			continue
		}
		b.waiting, b.inFlight = max(g.Lag, 0), g.Pending
		oldestID := ""
		if g.Pending > 0 {
			p, err := s.rdb.XPending(ctx, s.input.Stream, s.input.Group).Result()
			if err != nil {
				return b, err
			}
			oldestID = p.Lower
		} else if b.waiting > 0 {
			next, err := s.rdb.XRangeN(ctx, s.input.Stream, "("+g.LastDeliveredID, "+", 1).Result()
			if err != nil {
				return b, err
			}
			if len(next) > 0 {
				oldestID = next[0].ID
			}
		}
		b.oldest = streamIDTime(oldestID)
	}
	return b, nil
}

func streamIDTime(id string) time.Time {
	ms, _, ok := strings.Cut(id, "-")
	if !ok {
		return time.Time{}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n)
}
