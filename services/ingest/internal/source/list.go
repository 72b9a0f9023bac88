package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
)

// List reads the list the NEMO plugin writes with LPUSH, oldest first. Each
// entry is moved atomically to a processing list (BLMOVE) and removed from it
// only once acknowledged, so a crash loses nothing: what is left in the
// processing list is read again at start, and after a failed move. One
// ingest per list.
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
	rdb        redis.UniversalClient
	list       string
	processing string
	log        *slog.Logger
	// rereadWhy, while set, says why the processing list must be read
	// again before anything new is moved: at start, for what a previous
	// run left there; after a failed move, for an entry Redis may have
	// moved without its reply reaching us.
	rereadWhy string

	// acking is held by Ack from its LREMs until it has freed their ids,
	// and by a re-read of the processing list, so that the re-read finds
	// each entry in flight both in the processing list and among the ids
	// taken, or in neither.
	acking sync.Mutex

	mu       sync.Mutex
	inFlight map[string]string // ids handed out and not yet acknowledged, to their content id
}

// NewList connects with a client of its own that never retries a command
// (redisconn.NoRetryClient). Close closes that client.
//
// A BLMOVE or LMOVE whose reply is lost has moved its entry to the
// processing list; go-redis's retry would move the next one and hand that
// out instead, and the lost one would wait in the processing list until
// ingest restarts, to reach the broker after newer events of the same
// tools, with nothing said. Without the retry the move fails, and Read
// answers any failure by reading the processing list again before moving
// anything new.
func NewList(ctx context.Context, cfg redisconn.Config, list, processing string, log *slog.Logger) (*List, error) {
	rdb := cfg.NoRetryClient()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, err
	}
	return newList(rdb, list, processing, log), nil
}

func newList(rdb redis.UniversalClient, list, processing string, log *slog.Logger) *List {
	return &List{
		rdb: rdb, list: list, processing: processing, log: log, inFlight: map[string]string{},
		rereadWhy: "ingest started: entries its previous run moved and did not acknowledge",
	}
}

func (l *List) Name() string { return records.InputName(l.Input()) }

func (l *List) Input() *statusv1.Input { return records.ListInput(l.list) }

// Close closes the list's Redis client.
func (l *List) Close() error { return l.rdb.Close() }

func (l *List) Read(ctx context.Context, max int) ([]Entry, error) {
	if l.rereadWhy != "" {
		return l.reread(ctx) // a failure leaves rereadWhy set: the next Read tries again
	}
	entries, err := l.move(ctx, max)
	if err != nil {
		// The failed move may have run in Redis with its reply lost: its
		// entry is then in the processing list, unseen here, and older
		// than anything a later move takes, so it is read first.
		l.rereadWhy = "a move failed: Redis may have moved an entry whose reply was lost"
	}
	return entries, err
}

// move takes up to max entries from the list to the processing list.
func (l *List) move(ctx context.Context, max int) ([]Entry, error) {
	// Wait for one entry, then take whatever else is already there.
	first, err := l.rdb.BLMove(ctx, l.list, l.processing, "RIGHT", "LEFT", ReadWait).Result()
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
		// Whatever these moves took is in the processing list, and the
		// re-read that Read starts now hands it out.
		return out, fmt.Errorf("read list %s: %w", l.list, err)
	}
	for _, c := range cmds {
		if v, err := c.Result(); err == nil {
			out = append(out, l.entry(v))
		}
	}
	return out, nil
}

// reread returns the entries in the processing list that are not in
// flight, oldest (rightmost) first, and says so in the log: at start, all
// of them.
func (l *List) reread(ctx context.Context) ([]Entry, error) {
	l.acking.Lock()
	defer l.acking.Unlock()
	vals, err := l.rdb.LRange(ctx, l.processing, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read processing list %s: %w", l.processing, err)
	}
	slices.Reverse(vals)
	// An entry whose content is in flight is skipped once per id it is in
	// flight under: identical entries are the same bytes, so which of the
	// copies here are the ones in flight makes no difference.
	held := l.heldCopies()
	var out []Entry
	for _, v := range vals {
		if c := contentID(v); held[c] > 0 {
			held[c]--
			continue
		}
		out = append(out, l.entry(v))
	}
	l.log.Info("read the processing list again before new entries", "list", l.list, "processing_list", l.processing,
		"why", l.rereadWhy, "entries", len(out), "in_flight", len(vals)-len(out))
	l.rereadWhy = ""
	return out, nil
}

// heldCopies counts the entries in flight by content id.
func (l *List) heldCopies() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	held := map[string]int{}
	for _, c := range l.inFlight {
		held[c]++
	}
	return held
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
	for n := 2; l.inFlight[id] != ""; n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	l.inFlight[id] = base
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
	return l.AckCarrying(ctx, entries, nil)
}

func (l *List) AckCarrying(ctx context.Context, entries []Entry, also func(redis.Pipeliner)) error {
	l.acking.Lock()
	defer l.acking.Unlock()
	pipe := l.rdb.Pipeline()
	rems := make([]*redis.IntCmd, len(entries))
	for i, e := range entries {
		rems[i] = pipe.LRem(ctx, l.processing, -1, e.ackToken)
	}
	if also != nil {
		also(pipe)
	}
	_, _ = pipe.Exec(ctx) // the error of a command is in its result
	for _, rem := range rems {
		if err := rem.Err(); err != nil {
			return err
		}
	}
	l.release(entries)
	return nil
}
