package statusapi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/streamid"
)

// backlog is how far the pipeline is behind NEMO.
type backlog struct {
	waiting, inFlight int64
	// waitingNote is set when waiting is not a count but a lower bound,
	// and says why Redis gave no count.
	waitingNote string
	// oldest is when NEMO wrote the oldest event not yet acknowledged;
	// zero when unknown (the list holds no times) or nothing waits.
	oldest time.Time
}

// countLimit is how many entries streamBacklog counts one by one, when
// Redis gives no usable lag, before it settles for "at least".
const countLimit = 500

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

// streamBacklog reads the consumer group: entries not yet delivered
// (unread), delivered but not acknowledged (pending), and the oldest of
// either, whose stream id is the time it was written.
func (s *Server) streamBacklog(ctx context.Context) (backlog, error) {
	pipe := s.rdb.Pipeline()
	groups := pipe.XInfoGroups(ctx, s.input.Stream)
	info := pipe.XInfoStream(ctx, s.input.Stream)
	if _, err := pipe.Exec(ctx); err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return backlog{}, nil // NEMO has written nothing yet
		}
		return backlog{}, err
	}
	var b backlog
	for _, g := range groups.Val() {
		if g.Name != s.input.Group {
			continue
		}
		var err error
		b.inFlight = g.Pending
		if b.waiting, b.waitingNote, err = s.unread(ctx, g, info.Val()); err != nil {
			return b, err
		}
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

// unread is how many entries of the stream come after the last one the
// group was given. That is the group's lag (XINFO GROUPS, Redis 7), except
// where the stream itself answers exactly: nothing written after that
// entry, or every entry still in the stream after it. The lag alone is
// wrong there on Redis before 7.4/8.0 once unread entries were trimmed
// (XTRIM, XADD MAXLEN): the group's read counter misses them for good,
// and a caught-up group showed tens of thousands waiting
// (redis/redis#13473, #13958). A lag that is nil (entries after the
// group's position were deleted), absent (Redis 6) or more than the stream
// can hold is no count: the entries are counted here instead, up to
// countLimit, beyond which the answer is a lower bound that says why. A
// lag that old Redis got wrong but that fits in the stream cannot be told
// from a right one, and stands until ingest catches up.
// Ids are only compared, never subtracted: deleted entries leave gaps.
func (s *Server) unread(ctx context.Context, g redis.XInfoGroup, st *redis.XInfoStream) (int64, string, error) {
	last := g.LastDeliveredID
	switch {
	case st.Length == 0 || !idBefore(last, st.LastGeneratedID):
		return 0, "", nil
	case idBefore(last, st.FirstEntry.ID):
		return st.Length, "", nil
	}
	var why string
	switch {
	case st.EntriesAdded == 0: // a stream that holds entries had some added: Redis before 7 does not say
		why = "this Redis (before 7.0) keeps no lag for a consumer group"
	case g.Lag < 0:
		why = "Redis gives no lag for the group while entries after its position are deleted ones, until ingest reads past them"
	case g.Lag >= st.Length: // at least the first entry is not after the group's position
		why = fmt.Sprintf("Redis gives a lag of %d, more than the %d entries the stream holds (Redis before 7.4 miscounts once unread entries were trimmed)", g.Lag, st.Length)
	default:
		return g.Lag, "", nil
	}
	next, err := s.rdb.XRangeN(ctx, s.input.Stream, "("+last, "+", countLimit).Result()
	if err != nil || len(next) < countLimit {
		return int64(len(next)), "", err
	}
	return countLimit, fmt.Sprintf("at least %d events wait in stream %s; the bridge counts no further, as %s", countLimit, s.input.Stream, why), nil
}

// idBefore says whether stream id a comes before b. An id that does not
// parse (an empty stream has no first entry) is before none and after none.
func idBefore(a, b string) bool {
	ai, aok := streamid.Parse(a)
	bi, bok := streamid.Parse(b)
	return aok && bok && bi.After(ai)
}

func streamIDTime(id string) time.Time {
	i, ok := streamid.Parse(id)
	if !ok {
		return time.Time{}
	}
	return i.Time()
}
