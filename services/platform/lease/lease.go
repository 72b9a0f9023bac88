// Package lease makes sure that only one process at a time does a job that
// two must never do at once: the publisher's MQTT session of a client
// identity (two brokers' clients with the same client id kick each other
// off in turn, the original plugin's bug), and ingest's reading of one
// input (two readers of the list, or of one consumer of a stream, break
// each tool's order). With a lease in Redis, one process is active and any
// other with the same configuration waits as a hot standby, taking over
// within about one TTL when the active one dies. The key names the job
// (records.PublisherLease, records.IngestLease).
//
// Redis expires the lease TTL after it applied the last renewal, and a
// standby can take it only then. The holder cannot know when Redis applied
// a request, only when it sent it, which is earlier: so it counts the
// lease's time from there, on its own monotonic clock, and never from a
// reply, which may come late or not at all. Nothing the holder does waits
// on Redis past that count (see validity).
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// ErrLost means the lease ran out or was taken while held: the holder must
// stop its job by DropBy (the publisher leaves the broker, ingest stops
// reading) and stand by again.
var ErrLost = errors.New("lease lost")

var (
	// acquire takes the lease when nobody holds it, or when this process
	// still does (a reply lost on the way back, or a holder that counted
	// its lease lost shortly before Redis expired it), and numbers the
	// acquisition; it returns the holder when another one holds it. INCR
	// comes before SET because a script that fails halfway keeps what it
	// wrote: a fence that cannot be counted must leave the lease free,
	// not taken by a process that gives up.
	acquire = redis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return holder
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return fence`)
	// renew extends the lease only for its holder, and release deletes it
	// only for its holder, so a process that was paused past its TTL can
	// never extend or drop a lease that another one took in the meantime.
	renew = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	release = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)
)

// Fence is the counter of the acquisitions of the lease key. The acquire
// script sets it with the lease, so it is in the lease's Redis Cluster
// hash slot ("{nemo:bridge:lease:<client id>}:fence"); versions before
// named it oldFence, carried over by the first Acquire.
func Fence(key string) string { return records.Sibling(key, ":fence") }

func oldFence(key string) string { return key + ":fence" }

// Lease is one process's claim on a job.
type Lease struct {
	rdb   redis.UniversalClient
	key   string
	role  string // who takes it, for the log: "publisher", "ingest"
	fence string
	// oldFence is the fence's name in versions before, until carried
	// over (see Acquire); "" after.
	oldFence string
	ttl      time.Duration
	token    string
	log      *slog.Logger

	mu    sync.Mutex
	valid validity
}

// New prepares a lease on key; nothing is held until Acquire. role names
// the holders in the log ("publisher", "ingest"). rdb should honour
// context deadlines (ContextTimeoutEnabled), so that a call given up at
// its deadline also ends in the client; the lease keeps its own time
// either way.
func New(rdb redis.UniversalClient, key, role string, ttl time.Duration, log *slog.Logger) *Lease {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &Lease{
		rdb:      rdb,
		key:      key,
		role:     role,
		fence:    Fence(key),
		oldFence: oldFence(key),
		ttl:      ttl,
		token:    fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b)),
		log:      log,
		valid:    validity{ttl: ttl},
	}
}

// Key is the lease's key in Redis.
func (l *Lease) Key() string { return l.key }

// Held reports whether this process holds the lease now, by its own
// count: false once the lease is counted lost, even before Redis expires
// it, as the holder is stopping its job then.
func (l *Lease) Held() bool {
	return l.current().held(time.Now())
}

// DropBy is when the holder must have stopped its job at the latest (off
// the broker, no read of the input still waiting in Redis): shortly before
// a standby may take the lease, whatever the clocks.
func (l *Lease) DropBy() time.Time {
	return l.current().dropBy()
}

func (l *Lease) current() validity {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.valid
}

func (l *Lease) setSent(sent time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.valid.sent = sent
}

// Acquire waits until this process holds the lease and returns its fencing
// number, which grows with every acquisition: logs and the status topic
// carry it, so a takeover can be told from a flap. It returns an error only
// when ctx ends.
func (l *Lease) Acquire(ctx context.Context) (int64, error) {
	said := ""
	for ctx.Err() == nil {
		sent := time.Now()
		// Short of the TTL: a lease acquired late would be nearly
		// spent by the time the reply came. The fence of an earlier
		// version is carried over first, so the count never goes back.
		var (
			reply any
			err   error
		)
		if l.oldFence != "" {
			_, err = call(ctx, sent.Add(l.ttl/3), func(ctx context.Context) (records.Carried, error) {
				return records.CarryOver(ctx, l.rdb, l.oldFence, l.fence)
			})
			if err == nil {
				l.oldFence = ""
			}
			sent = time.Now()
		}
		if l.oldFence == "" {
			reply, err = call(ctx, sent.Add(l.ttl/3), func(ctx context.Context) (any, error) {
				return acquire.Run(ctx, l.rdb, []string{l.key, l.fence}, l.token, l.ttl.Milliseconds()).Result()
			})
		}
		switch v := reply.(type) {
		case int64:
			l.setSent(sent)
			return v, nil
		case string:
			if said != v {
				l.log.Info("another "+l.role+" holds the lease; standing by", "holder", v, "lease", l.key)
			}
			said = v
		default:
			if ctx.Err() == nil && said != "unreachable" {
				l.log.Warn("cannot take the "+l.role+" lease in Redis; standing by and trying again", "err", err, "lease", l.key)
				said = "unreachable"
			}
		}
		select {
		case <-time.After(l.ttl / 5):
		case <-ctx.Done():
		}
	}
	return 0, ctx.Err()
}

// Keep renews the lease every third of its TTL until ctx ends (nil) or the
// lease is lost (ErrLost): taken by another process, or not renewed in
// time because Redis does not answer. It reports the loss by the lease's
// own count, whatever the call to Redis is doing, early enough for the
// caller to stop its job by DropBy.
func (l *Lease) Keep(ctx context.Context) error {
	next := l.current().sent.Add(l.ttl / 3)
	for {
		v := l.current()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(v.lostAt())):
			return fmt.Errorf("%w: not renewed within %s", ErrLost, v.lostAt().Sub(v.sent).Round(time.Millisecond))
		case <-time.After(time.Until(next)):
		}
		sent := time.Now()
		n, err := call(ctx, v.lostAt(), func(ctx context.Context) (int, error) {
			return renew.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
		})
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil && n == 1:
			l.setSent(sent)
			next = sent.Add(l.ttl / 3)
		case err == nil:
			return fmt.Errorf("%w: another %s holds %s", ErrLost, l.role, l.key)
		case time.Now().Before(v.lostAt()):
			// An error before the deadline (a refused connection, a
			// Redis error): time is left to try again, sooner than
			// the usual pace.
			l.log.Warn("could not renew the "+l.role+" lease; trying again", "err", err, "lost_in", time.Until(v.lostAt()).Round(time.Millisecond))
			next = time.Now().Add(l.ttl / 10)
		default:
			return fmt.Errorf("%w: Redis did not answer within %s of the last renewal: %v", ErrLost, v.lostAt().Sub(v.sent).Round(time.Millisecond), err)
		}
	}
}

// Release gives the lease up at a clean stop, so a standby takes over at
// once instead of after the TTL.
func (l *Lease) Release(ctx context.Context) {
	_, err := call(ctx, time.Now().Add(l.ttl/3), func(ctx context.Context) (any, error) {
		return release.Run(ctx, l.rdb, []string{l.key}, l.token).Result()
	})
	l.setSent(time.Time{})
	if err != nil {
		l.log.Warn("could not release the "+l.role+" lease; a standby takes over when it expires", "err", err, "lease", l.key)
	}
}

// call runs one Redis call of the lease with a deadline and returns by the
// deadline, whatever the client does: one that does not honour deadlines,
// or is stuck dialling, finishes on its own with nobody waiting.
func call[T any](ctx context.Context, deadline time.Time, do func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := do(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// validity is the holder's count of the lease's time on its monotonic
// clock (time.Now carries a monotonic reading, so wall clock steps do not
// move it). From sent, Redis keeps the lease at least TTL, as it applied
// the request after it was sent. The holder counts the lease lost at 8/10
// of the TTL, and stops its job (leaves the broker) by 9/10: the tenth
// between covers stopping, the last tenth a holder's clock up to a tenth slower
// than Redis's.
type validity struct {
	ttl time.Duration
	// sent is when the request that last set the lease's expiry in Redis
	// was sent; zero while not held.
	sent time.Time
}

func (v validity) lostAt() time.Time { return v.sent.Add(v.ttl - 2*v.ttl/10) }

func (v validity) dropBy() time.Time { return v.sent.Add(v.ttl - v.ttl/10) }

func (v validity) held(now time.Time) bool {
	return !v.sent.IsZero() && now.Before(v.lostAt())
}
