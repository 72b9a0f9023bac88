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

// writeIfNewer stores states unless Redis already holds newer ones (from
// another router, or before this one restarted), atomically. ARGV holds
// four values per tool: its id, the sequence of its new state, the
// state's doc, and the limit of the sequence's kind now (see limit); it
// answers 1 per tool written, 0 per tool Redis held a newer state of. A
// held sequence beyond the limit is stale and yields, as in applies. One
// call writes all the tools of a site in a batch: a script call costs
// Redis far more than the few commands inside it. It is sent whole
// (EVAL) because a pipeline cannot fall back from EVALSHA when Redis
// restarted and forgot the script.
var writeIfNewer = redis.NewScript(`
local written = {}
for i = 1, #ARGV, 4 do
  local id, seq, doc, limit = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local cur = redis.call('HGET', KEYS[2], id)
  if cur and seq ~= '' and string.sub(cur, 1, 2) == string.sub(seq, 1, 2) and cur > seq and cur <= limit then
    written[#written + 1] = 0
  else
    redis.call('HSET', KEYS[1], id, doc)
    redis.call('HSET', KEYS[2], id, seq)
    written[#written + 1] = 1
  end
end
return written
`)

// Store folds events into the state of their tools and keeps it in Redis.
// It remembers the states in memory, loaded once at start (a site's when
// its first event comes), so an event costs no read.
type Store struct {
	rdb redis.UniversalClient
	// now tells the time by Redis's clock, which judges whether a state's
	// sequence can be real (see stale).
	now   func() time.Time
	mu    sync.Mutex
	tools map[Key]*statusv1.Tool
	// saved is, per tool, the state saved by the last Apply and its doc
	// as written to Redis, so that its snapshot is not written again
	// (Doc). Only the last batch's: the snapshots read them right after,
	// and a doc kept per tool would grow with the tools.
	saved map[Key]savedDoc
	// sites are the named sites whose state is loaded, with the topic
	// prefix records.Sites holds for each.
	sites map[string]string
}

// Key names a tool: its site ("" for the default site) and its id. Tool
// 12 of one site is not tool 12 of another.
type Key struct {
	Site string
	ID   int32
}

// KeyOf is the tool ev is about; ev must name one.
func KeyOf(ev *bridgev1.Event) Key { return Key{ev.GetSite(), ev.GetToolId()} }

// KeyOfTool is the tool t is the state of.
func KeyOfTool(t *statusv1.Tool) Key { return Key{t.GetSite(), t.GetId()} }

type savedDoc struct {
	tool *statusv1.Tool
	doc  []byte
}

// Open loads every tool's state from Redis, of every site.
func Open(ctx context.Context, rdb redis.UniversalClient, now func() time.Time) (*Store, error) {
	s := &Store{rdb: rdb, now: now, tools: map[Key]*statusv1.Tool{}, saved: map[Key]savedDoc{}, sites: map[string]string{}}
	// The sequences of a version before Cluster support, under their
	// old name, keep guarding against older events delivered again.
	if _, err := records.CarryOver(ctx, rdb, records.OldToolSequences, records.ToolSequences); err != nil {
		return nil, fmt.Errorf("carry %s over to %s: %w", records.OldToolSequences, records.ToolSequences, err)
	}
	if err := s.load(ctx, ""); err != nil {
		return nil, err
	}
	sites, err := rdb.HGetAll(ctx, records.Sites).Result()
	if err != nil {
		return nil, fmt.Errorf("read the sites in %s: %w", records.Sites, err)
	}
	for site, prefix := range sites {
		if records.CheckSite(site) != nil {
			continue // not one a router wrote: no state of it to load
		}
		if err := s.load(ctx, site); err != nil {
			return nil, err
		}
		s.sites[site] = prefix
	}
	return s, nil
}

// load reads the state of every tool of site.
func (s *Store) load(ctx context.Context, site string) error {
	hash := records.SiteTools(site)
	all, err := s.rdb.HGetAll(ctx, hash).Result()
	if err != nil {
		return fmt.Errorf("load tool state from %s: %w", hash, err)
	}
	for id, doc := range all {
		t, err := records.UnmarshalSiteTool(site, []byte(doc))
		if err != nil {
			return fmt.Errorf("tool state %s in %s is not valid: %w", id, hash, err)
		}
		s.tools[Key{site, t.GetId()}] = t
	}
	return nil
}

// addSites loads the state of the sites of evs met for the first time,
// and records each in records.Sites (again when its topic prefix
// changed), so that the gateway knows it.
func (s *Store) addSites(ctx context.Context, evs []*bridgev1.Event) error {
	for _, ev := range evs {
		site, prefix := ev.GetSite(), ev.GetSiteTopicPrefix()
		if site == "" || ev.ToolId == nil {
			continue
		}
		known, loaded := s.sites[site]
		if loaded && known == prefix {
			continue
		}
		if !loaded {
			if err := s.load(ctx, site); err != nil {
				return err
			}
		}
		if err := s.rdb.HSet(ctx, records.Sites, site, prefix).Err(); err != nil {
			return fmt.Errorf("record site %s in %s: %w", site, records.Sites, err)
		}
		s.sites[site] = prefix
	}
	return nil
}

// Apply folds a batch of events, in order, and writes the tools they
// changed. It returns each event's resulting state as saved (nil for an
// event that changed none, or whose tool Redis knew a newer state of), so
// that the caller can publish snapshots in event order.
func (s *Store) Apply(ctx context.Context, evs []*bridgev1.Event) ([]*statusv1.Tool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.saved)
	if err := s.addSites(ctx, evs); err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]*statusv1.Tool, len(evs))
	changed := map[Key]*statusv1.Tool{}
	for i, ev := range evs {
		if ev.ToolId == nil {
			continue
		}
		key := KeyOf(ev)
		if next, ok := Fold(s.tools[key], ev, now); ok {
			s.tools[key], changed[key], out[i] = next, next, next
		}
	}
	if len(changed) == 0 {
		return out, nil
	}
	// One script call per site, all in one round trip.
	type siteWrite struct {
		keys []Key
		docs [][]byte
		args []any
	}
	bySite := map[string]*siteWrite{}
	for key, t := range changed {
		doc, err := records.MarshalTool(t)
		if err != nil {
			return nil, err
		}
		w := bySite[key.Site]
		if w == nil {
			w = &siteWrite{}
			bySite[key.Site] = w
		}
		seq := t.GetSequence()
		w.keys, w.docs = append(w.keys, key), append(w.docs, doc)
		w.args = append(w.args, strconv.Itoa(int(key.ID)), seq, doc, limit(seq, now))
	}
	pipe := s.rdb.Pipeline()
	calls := make(map[string]*redis.Cmd, len(bySite))
	for site, w := range bySite {
		calls[site] = writeIfNewer.Eval(ctx, pipe, []string{records.SiteTools(site), records.SiteToolSequences(site)}, w.args...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		// Forget what was folded so that a retry of the batch starts from
		// what Redis holds.
		s.reload(ctx, changed)
		return nil, fmt.Errorf("save tool state: %w", err)
	}
	older := map[Key]*statusv1.Tool{}
	for site, w := range bySite {
		written, err := calls[site].Int64Slice()
		if err != nil || len(written) != len(w.keys) {
			s.reload(ctx, changed)
			return nil, fmt.Errorf("save tool state: unexpected answer from Redis (%d flags for %d tools): %v", len(written), len(w.keys), err)
		}
		for i, key := range w.keys {
			if written[i] == 1 {
				s.saved[key] = savedDoc{tool: changed[key], doc: w.docs[i]}
			} else {
				older[key] = nil
			}
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
		if _, ok := older[KeyOfTool(t)]; ok && t != nil {
			out[i] = nil
		}
	}
	return out, nil
}

// reload reads back the tools of a failed write (best effort: what cannot be
// read now starts from scratch and is corrected by Redis's newer sequence).
func (s *Store) reload(ctx context.Context, keys map[Key]*statusv1.Tool) {
	for key := range keys {
		delete(s.tools, key)
		delete(s.saved, key)
		doc, err := s.rdb.HGet(ctx, records.SiteTools(key.Site), strconv.Itoa(int(key.ID))).Result()
		if err != nil {
			continue
		}
		if t, err := records.UnmarshalSiteTool(key.Site, []byte(doc)); err == nil {
			s.tools[key] = t
		}
	}
}

// Doc returns t as Apply wrote it to Redis (records.MarshalTool), when t
// is the state the last Apply saved for its tool; else nil. The caller may
// not change it.
func (s *Store) Doc(t *statusv1.Tool) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.saved[KeyOfTool(t)]; ok && d.tool == t {
		return d.doc[:len(d.doc):len(d.doc)]
	}
	return nil
}

// Current returns the state of a tool as it stands, or nil; the caller
// may not change it.
func (s *Store) Current(key Key) *statusv1.Tool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tools[key]
}
