package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// StreamConfig names the stream and the consumer group.
type StreamConfig struct {
	Stream     string
	Group      string
	Consumer   string
	GroupStart string        // where a new group starts: "0" (all history) or "$" (new only)
	ClaimIdle  time.Duration // entries pending longer than this in another consumer are taken over
}

// Stream reads a Redis stream through a consumer group: at-least-once, as
// an entry stays pending until acknowledged.
type Stream struct {
	rdb *redis.Client
	cfg StreamConfig
	// recovering is true until this consumer's own pending entries (left
	// by its previous run) have been read again.
	recovering  bool
	pendingFrom string
	nextClaim   time.Time
	claimFrom   string
}

// NewStream creates the consumer group if needed.
func NewStream(ctx context.Context, rdb *redis.Client, cfg StreamConfig) (*Stream, error) {
	err := rdb.XGroupCreateMkStream(ctx, cfg.Stream, cfg.Group, cfg.GroupStart).Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return nil, fmt.Errorf("create consumer group %s on stream %s: %w", cfg.Group, cfg.Stream, err)
	}
	return &Stream{rdb: rdb, cfg: cfg, recovering: true, pendingFrom: "0", claimFrom: "0-0"}, nil
}

func (s *Stream) Name() string { return "stream " + s.cfg.Stream }

func (s *Stream) Read(ctx context.Context, max int) ([]Entry, error) {
	if s.recovering {
		return s.readOwnPending(ctx, max)
	}
	if time.Now().After(s.nextClaim) {
		entries, err := s.claim(ctx, max)
		if err != nil || len(entries) > 0 {
			return entries, err
		}
	}
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: s.cfg.Group, Consumer: s.cfg.Consumer,
		Streams: []string{s.cfg.Stream, ">"}, Count: int64(max), Block: time.Second,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, s.annotate(ctx, err)
	}
	return s.entries(res[0].Messages), nil
}

// readOwnPending re-reads what this consumer had read but not acknowledged
// before it stopped, oldest first, before anything new.
func (s *Stream) readOwnPending(ctx context.Context, max int) ([]Entry, error) {
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: s.cfg.Group, Consumer: s.cfg.Consumer,
		Streams: []string{s.cfg.Stream, s.pendingFrom}, Count: int64(max),
	}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.annotate(ctx, err)
	}
	if len(res) == 0 || len(res[0].Messages) == 0 {
		s.recovering = false
		return nil, nil
	}
	msgs := res[0].Messages
	s.pendingFrom = msgs[len(msgs)-1].ID
	return s.entries(msgs), nil
}

// claim takes over entries that another consumer (a crashed ingest under
// another name) left pending longer than ClaimIdle. It also returns this
// consumer's own entries that wait that long for the broker; the caller
// skips those it already has in flight.
func (s *Stream) claim(ctx context.Context, max int) ([]Entry, error) {
	msgs, next, err := s.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: s.cfg.Stream, Group: s.cfg.Group, Consumer: s.cfg.Consumer,
		MinIdle: s.cfg.ClaimIdle, Start: s.claimFrom, Count: int64(max),
	}).Result()
	if err != nil {
		return nil, s.annotate(ctx, err)
	}
	s.claimFrom = next
	if next == "0-0" { // a full pass is done; the next one starts later
		s.nextClaim = time.Now().Add(s.cfg.ClaimIdle / 2)
	}
	return s.entries(msgs), nil
}

func (s *Stream) entries(msgs []redis.XMessage) []Entry {
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, fieldsEntry(m.ID, m.Values))
	}
	return out
}

func (s *Stream) Ack(ctx context.Context, entries []Entry) error {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	return s.rdb.XAck(ctx, s.cfg.Stream, s.cfg.Group, ids...).Err()
}

// annotate recreates the group when Redis lost it (a restart without
// persistence), which otherwise fails every read with NOGROUP.
func (s *Stream) annotate(ctx context.Context, err error) error {
	if strings.HasPrefix(err.Error(), "NOGROUP") {
		if cerr := s.rdb.XGroupCreateMkStream(ctx, s.cfg.Stream, s.cfg.Group, s.cfg.GroupStart).Err(); cerr == nil {
			s.recovering, s.pendingFrom, s.claimFrom = true, "0", "0-0"
			return fmt.Errorf("consumer group %s was missing on stream %s (Redis lost it); created it again", s.cfg.Group, s.cfg.Stream)
		}
	}
	return fmt.Errorf("read stream %s: %w", s.cfg.Stream, err)
}
