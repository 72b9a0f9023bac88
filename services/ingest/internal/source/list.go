package source

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// List reads the list the NEMO plugin writes with LPUSH, oldest first. Each
// entry is moved atomically to a processing list (BLMOVE) and removed from it
// only once acknowledged, so a crash loses nothing: what is left in the
// processing list is read again at start. One ingest per list.
type List struct {
	rdb        *redis.Client
	list       string
	processing string
	seq        uint64
	recovered  bool
}

func NewList(rdb *redis.Client, list, processing string) *List {
	return &List{rdb: rdb, list: list, processing: processing}
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
	l.seq++
	return jsonEntry("list-"+strconv.FormatUint(l.seq, 10), raw)
}

// Ack removes each entry from the processing list, counting from the oldest
// end so that of two identical entries the older one goes.
func (l *List) Ack(ctx context.Context, entries []Entry) error {
	pipe := l.rdb.Pipeline()
	for _, e := range entries {
		pipe.LRem(ctx, l.processing, -1, e.ackToken)
	}
	_, err := pipe.Exec(ctx)
	return err
}
