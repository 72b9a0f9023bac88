package toolstate

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// writeIfNewer stores a state unless Redis already holds a newer one (from
// another router, or before this one restarted), atomically. A held
// sequence beyond ARGV[4], the limit of its kind now (see limit), is
// stale and yields, as in applies. It is sent whole (EVAL) because a
// pipeline cannot fall back from EVALSHA when Redis restarted and forgot
// the script.
var writeIfNewer = redis.NewScript(`
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur and ARGV[2] ~= '' and string.sub(cur, 1, 2) == string.sub(ARGV[2], 1, 2) and cur > ARGV[2] and cur <= ARGV[4] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`)

// Store folds events into the state of their tools and keeps it in Redis.
// It remembers the states in memory, loaded once at start, so an event
// costs no read.
type Store struct {
	rdb redis.UniversalClient
	// now tells the time by Redis's clock, which judges whether a state's
	// sequence can be real (see stale).
	now   func() time.Time
	mu    sync.Mutex
	tools map[int32]*statusv1.Tool
	// saved is, per tool, the state saved by the last Apply and its doc
	// as written to Redis, so that its snapshot is not written again
	// (Doc). Only the last batch's: the snapshots read them right after,
	// and a doc kept per tool would grow with the tools.
	saved map[int32]savedDoc
}

type savedDoc struct {
	tool *statusv1.Tool
	doc  []byte
}

// Open loads every tool's state from Redis.
func Open(ctx context.Context, rdb redis.UniversalClient, now func() time.Time) (*Store, error) {
	s := &Store{rdb: rdb, now: now, tools: map[int32]*statusv1.Tool{}, saved: map[int32]savedDoc{}}
	// The sequences of a version before Cluster support, under their
	// old name, keep guarding against older events delivered again.
	if _, err := records.CarryOver(ctx, rdb, records.OldToolSequences, records.ToolSequences); err != nil {
		return nil, fmt.Errorf("carry %s over to %s: %w", records.OldToolSequences, records.ToolSequences, err)
	}
	all, err := rdb.HGetAll(ctx, records.Tools).Result()
	if err != nil {
		return nil, fmt.Errorf("load tool state from %s: %w", records.Tools, err)
	}
	for id, doc := range all {
		t, err := records.UnmarshalTool([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("tool state %s in %s is not valid: %w", id, records.Tools, err)
		}
		s.tools[t.GetId()] = t
	}
	return s, nil
}

// Apply folds a batch of events, in order, and writes the tools they
// changed. It returns each event's resulting state as saved (nil for an
// event that changed none, or whose tool Redis knew a newer state of), so
// that the caller can publish snapshots in event order.
func (s *Store) Apply(ctx context.Context, evs []*bridgev1.Event) ([]*statusv1.Tool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.saved)
	now := s.now()
	out := make([]*statusv1.Tool, len(evs))
	changed := map[int32]*statusv1.Tool{}
	for i, ev := range evs {
		if ev.ToolId == nil {
			continue
		}
		id := ev.GetToolId()
		if next, ok := Fold(s.tools[id], ev, now); ok {
			s.tools[id], changed[id], out[i] = next, next, next
		}
	}
	if len(changed) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	writes := map[int32]*redis.Cmd{}
	docs := make(map[int32][]byte, len(changed))
	for id, t := range changed {
		doc, err := records.MarshalTool(t)
		if err != nil {
			return nil, err
		}
		seq := t.GetSequence()
		writes[id] = writeIfNewer.Eval(ctx, pipe, []string{records.Tools, records.ToolSequences}, strconv.Itoa(int(id)), seq, doc, limit(seq, now))
		docs[id] = doc
	}
	if _, err := pipe.Exec(ctx); err != nil {
		// Forget what was folded so that a retry of the batch starts from
		// what Redis holds.
		s.reload(ctx, changed)
		return nil, fmt.Errorf("save tool state: %w", err)
	}
	older := map[int32]*statusv1.Tool{}
	for id, w := range writes {
		if n, _ := w.Int(); n == 0 {
			older[id] = nil
		} else {
			s.saved[id] = savedDoc{tool: changed[id], doc: docs[id]}
		}
	}
	if len(older) == 0 {
		return out, nil
	}
	s.reload(ctx, older) // Redis knew newer states: take them
	// What was folded for those tools was not saved: a snapshot of it
	// would put a state on the broker that Redis does not hold. Their
	// events see the state as it stands, as for an older event.
	for i, t := range out {
		if _, ok := older[t.GetId()]; ok && t != nil {
			out[i] = nil
		}
	}
	return out, nil
}

// reload reads back the tools of a failed write (best effort: what cannot be
// read now starts from scratch and is corrected by Redis's newer sequence).
func (s *Store) reload(ctx context.Context, ids map[int32]*statusv1.Tool) {
	for id := range ids {
		delete(s.tools, id)
		delete(s.saved, id)
		doc, err := s.rdb.HGet(ctx, records.Tools, strconv.Itoa(int(id))).Result()
		if err != nil {
			continue
		}
		if t, err := records.UnmarshalTool([]byte(doc)); err == nil {
			s.tools[id] = t
		}
	}
}

// Doc returns t as Apply wrote it to Redis (records.MarshalTool), when t
// is the state the last Apply saved for its tool; else nil. The caller may
// not change it.
func (s *Store) Doc(t *statusv1.Tool) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.saved[t.GetId()]; ok && d.tool == t {
		return d.doc[:len(d.doc):len(d.doc)]
	}
	return nil
}

// Current returns the state of tool id as it stands, or nil; the caller
// may not change it.
func (s *Store) Current(id int32) *statusv1.Tool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tools[id]
}
