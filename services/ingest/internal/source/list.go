package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// List reads the list the NEMO plugin writes with LPUSH, oldest first. Each
// entry is moved atomically to a processing list (BLMOVE) and removed from it
// only once acknowledged, so a crash loses nothing: what is left in the
// processing list is read again at start. One ingest per list.
//
// An entry's id, which subscribers see as the event_id, is "list-" and the
// first 128 bits of the SHA-256 of the entry as Redis holds it, in hex: an
// entry read again after a crash (recovered from the processing list)
// keeps its id, so a subscriber drops the second delivery, while entries of
// different content never share one, whichever run or replica reads them.
// Two entries that are the same byte for byte are one event to the bridge;
// the plugin's envelope carries its time to the microsecond, so two of its
// events never are. Should two such entries be in flight at once (a dead
// letter replayed twice, say), the second is "list-<digest>-2", the third
// "-3", and so on: ingest's window, the link to the router and the router's
// answers all tell entries in flight apart by id.
type List struct {
	rdb        *redis.Client
	list       string
	processing string
	recovered  bool

	mu       sync.Mutex
	inFlight map[string]bool // ids handed out and not yet acknowledged
}

func NewList(rdb *redis.Client, list, processing string) *List {
	return &List{rdb: rdb, list: list, processing: processing, inFlight: map[string]bool{}}
}

func (l *List) Name() string { return "list " + l.list }

func (l *List) Read(ctx context.Context, max int) ([]Entry, error) {
	if !l.recovered {
		return l.recover(ctx)
	}
	// Wait for one entry, then take whatever else is already there.
	first, err := l.rdb.BLMove(ctx, l.list, l.processing, "RIGHT", "LEFT", time.Second).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read list %s: %w", l.list, err)
	}
	out := []Entry{l.entry(first)}
	if max <= 1 {
		return out, nil
	}
	pipe := l.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, max-1)
	for i := range cmds {
		cmds[i] = pipe.LMove(ctx, l.list, l.processing, "RIGHT", "LEFT")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		// What moved is in the processing list and is read again at the
		// next start; say so rather than hide it.
		return out, fmt.Errorf("read list %s: %w", l.list, err)
	}
	for _, c := range cmds {
		if v, err := c.Result(); err == nil {
			out = append(out, l.entry(v))
		}
	}
	return out, nil
}

// recover returns what a previous run left in the processing list, oldest
// (rightmost) first.
func (l *List) recover(ctx context.Context) ([]Entry, error) {
	vals, err := l.rdb.LRange(ctx, l.processing, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read processing list %s: %w", l.processing, err)
	}
	l.recovered = true
	slices.Reverse(vals)
	out := make([]Entry, len(vals))
	for i, v := range vals {
		out[i] = l.entry(v)
	}
	return out, nil
}

func (l *List) entry(raw string) Entry {
	return jsonEntry(l.claimID(raw), raw)
}

// contentID is an entry's id before any suffix: its content's digest.
func contentID(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return "list-" + hex.EncodeToString(sum[:16])
}

// claimID is the entry's content id, or, while an identical entry is in
// flight under that id, the same with the smallest free "-n" suffix.
func (l *List) claimID(raw string) string {
	base := contentID(raw)
	l.mu.Lock()
	defer l.mu.Unlock()
	id := base
	for n := 2; l.inFlight[id]; n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	l.inFlight[id] = true
	return id
}

// release frees the ids of acknowledged entries for identical entries to
// come.
func (l *List) release(entries []Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range entries {
		delete(l.inFlight, e.ID)
	}
}

// Ack removes each entry from the processing list, counting from the oldest
// end so that of two identical entries the older one goes. The ids stay
// taken until Redis has done so, since a failed Ack is retried with them.
func (l *List) Ack(ctx context.Context, entries []Entry) error {
	pipe := l.rdb.Pipeline()
	for _, e := range entries {
		pipe.LRem(ctx, l.processing, -1, e.ackToken)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	l.release(entries)
	return nil
}
