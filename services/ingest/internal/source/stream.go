package source

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
)

// StreamConfig names the stream and the consumer group.
type StreamConfig struct {
	Stream     string
	Group      string
	Consumer   string
	GroupStart string        // where a new group starts: "0" (all history) or "$" (new only)
	ClaimIdle  time.Duration // entries pending longer than this in another consumer are taken over
}

// pairedReadMargin is how much longer than ReadWait a client must wait for
// a reply to pipeline its blocking read (see readNew).
const pairedReadMargin = time.Second

// Stream reads a Redis stream through a consumer group: at-least-once, as
// an entry stays pending until acknowledged.
type Stream struct {
	rdb redis.UniversalClient
	cfg StreamConfig
	log *slog.Logger
	// recovering is true until this consumer's own pending entries have
	// been read again from the start of its pending list: those left by
	// its previous run, or those a failed read may have delivered in Redis
	// without their reply reaching us. recoverWhy says which, for the log.
	recovering  bool
	recoverWhy  string
	pendingFrom string
	pendingSeen int
	nextClaim   time.Time
	claimFrom   string
	// pairedReads: the client waits long enough for a pipelined blocking
	// read (see readNew).
	pairedReads bool
}

// NewStream connects with a client of its own that never retries a command
// (redisconn.NoRetryClient), and creates the consumer group if needed.
// Close closes that client.
//
// go-redis retries a command whose connection failed before the reply
// arrived, and XREADGROUP ">" is not idempotent: the lost attempt has
// already made its entries pending for this consumer, the retry would read
// the entries after them, and the lost ones would wait for XAUTOCLAIM
// (-claim-idle) to reach the broker after newer events of the same tools,
// with nothing said. Without the retry the read fails, and Read answers
// any failure by reading the pending list again before anything new.
func NewStream(ctx context.Context, redisCfg redisconn.Config, cfg StreamConfig, log *slog.Logger) (*Stream, error) {
	rdb := redisCfg.NoRetryClient()
	err := rdb.XGroupCreateMkStream(ctx, cfg.Stream, cfg.Group, cfg.GroupStart).Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		rdb.Close()
		return nil, fmt.Errorf("create consumer group %s on stream %s: %w", cfg.Group, cfg.Stream, err)
	}
	wait := redisconn.ReadTimeout(rdb)
	s := &Stream{rdb: rdb, cfg: cfg, log: log, claimFrom: "0-0", pairedReads: wait <= 0 || wait >= ReadWait+pairedReadMargin}
	s.recover("ingest started: entries its previous run read and did not acknowledge")
	return s, nil
}

func (s *Stream) Name() string { return records.InputName(s.Input()) }

func (s *Stream) Input() *statusv1.Input { return records.StreamInput(s.cfg.Stream) }

// Close closes the stream's Redis client.
func (s *Stream) Close() error { return s.rdb.Close() }

func (s *Stream) Read(ctx context.Context, max int) ([]Entry, error) {
	entries, err := s.read(ctx, max)
	if err != nil && !s.recovering {
		// The failed command may have run in Redis with its reply lost: a
		// ">" read or a claim then made entries pending for this consumer
		// that nobody here has seen. They are older than anything a later
		// ">" returns, so they are read first.
		s.recover("a read failed: Redis may have delivered entries whose reply was lost")
	}
	return entries, err
}

// recover makes the next reads go through this consumer's pending list
// from its start before anything new.
func (s *Stream) recover(why string) {
	s.recovering, s.recoverWhy, s.pendingFrom, s.pendingSeen = true, why, "0", 0
}

func (s *Stream) read(ctx context.Context, max int) ([]Entry, error) {
	if s.recovering {
		return s.readOwnPending(ctx, max)
	}
	if time.Now().After(s.nextClaim) {
		entries, err := s.claim(ctx, max)
		if err != nil || len(entries) > 0 {
			return entries, err
		}
	}
	msgs, err := s.readNew(ctx, max)
	if err != nil {
		return nil, s.annotate(ctx, err)
	}
	return s.entries(msgs), nil
}

// readNew reads up to max entries that no consumer of the group has had,
// waiting ReadWait for the first.
//
// Redis answers a blocked XREADGROUP as soon as the first entry of a
// burst is in, so a burst would come as a batch of one and a batch of the
// rest, and each batch costs every service on the way its round trips.
// So a second XREADGROUP, which does not block, follows the blocking one
// in the same round trip: Redis runs it as soon as the first is answered,
// and it takes what came meanwhile. Each asks for half of max. Only a
// client that waits for a pipeline's replies longer than the blocking
// read reads so (go-redis gives a pipeline only the client's read
// timeout); another reads once, as a blocking read alone.
func (s *Stream) readNew(ctx context.Context, max int) ([]redis.XMessage, error) {
	read := func(pipe redis.Cmdable, count int, block time.Duration) *redis.XStreamSliceCmd {
		return pipe.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: s.cfg.Group, Consumer: s.cfg.Consumer,
			Streams: []string{s.cfg.Stream, ">"}, Count: int64(count), Block: block,
		})
	}
	reads := []*redis.XStreamSliceCmd{}
	if max < 2 || !s.pairedReads {
		reads = append(reads, read(s.rdb, max, ReadWait))
	} else {
		pipe := s.rdb.Pipeline()
		// Block -1 sends no BLOCK; each read's own error is looked at below.
		reads = append(reads, read(pipe, max-max/2, ReadWait), read(pipe, max/2, -1))
		_, _ = pipe.Exec(ctx)
	}
	var msgs []redis.XMessage
	for _, r := range reads {
		res, err := r.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, res[0].Messages...)
	}
	return msgs, nil
}

// readOwnPending re-reads what this consumer had read but not acknowledged,
// oldest first, before anything new. It returns entries still in flight
// too; the caller skips those.
func (s *Stream) readOwnPending(ctx context.Context, max int) ([]Entry, error) {
	res, err := s.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: s.cfg.Group, Consumer: s.cfg.Consumer,
		Streams: []string{s.cfg.Stream, s.pendingFrom}, Count: int64(max),
	}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, s.annotate(ctx, err) // reading pending entries changes nothing: the pass goes on from pendingFrom
	}
	if len(res) == 0 || len(res[0].Messages) == 0 {
		s.recovering = false
		s.log.Info("read this consumer's pending entries again before new ones", "stream", s.cfg.Stream,
			"consumer", s.cfg.Consumer, "why", s.recoverWhy, "pending", s.pendingSeen)
		return nil, nil
	}
	msgs := res[0].Messages
	s.pendingFrom = msgs[len(msgs)-1].ID
	s.pendingSeen += len(msgs)
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
	return s.AckCarrying(ctx, entries, nil)
}

func (s *Stream) AckCarrying(ctx context.Context, entries []Entry, also func(redis.Pipeliner)) error {
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	if also == nil {
		return s.rdb.XAck(ctx, s.cfg.Stream, s.cfg.Group, ids...).Err()
	}
	pipe := s.rdb.Pipeline()
	ack := pipe.XAck(ctx, s.cfg.Stream, s.cfg.Group, ids...)
	also(pipe)
	_, _ = pipe.Exec(ctx) // the error of a command is in its result
	return ack.Err()
}

// annotate recreates the group when Redis lost it (a restart without
// persistence), which otherwise fails every read with NOGROUP.
func (s *Stream) annotate(ctx context.Context, err error) error {
	if strings.HasPrefix(err.Error(), "NOGROUP") {
		if cerr := s.rdb.XGroupCreateMkStream(ctx, s.cfg.Stream, s.cfg.Group, s.cfg.GroupStart).Err(); cerr == nil {
			s.recover("the consumer group was created again")
			s.claimFrom = "0-0"
			return fmt.Errorf("consumer group %s was missing on stream %s (Redis lost it); created it again", s.cfg.Group, s.cfg.Stream)
		}
	}
	return fmt.Errorf("read stream %s: %w", s.cfg.Stream, err)
}
