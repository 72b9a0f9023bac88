// Package lease makes sure that only one publisher at a time holds the MQTT
// session of a client identity. Two brokers' clients with the same client id
// kick each other off in turn (the original plugin's bug); with a lease in
// Redis, one publisher is active and any other waits as a hot standby,
// taking over within about one TTL when the active one dies.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrLost means the lease expired or was taken while held: the holder must
// stop publishing at once.
var ErrLost = errors.New("lease lost")

// renew extends the lease only for its holder, and release deletes it only
// for its holder, so a publisher that was paused past its TTL can never
// extend or drop a lease that another one took in the meantime.
var (
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

// Lease is one publisher's claim on a client identity.
type Lease struct {
	rdb   *redis.Client
	key   string
	fence string
	ttl   time.Duration
	token string
	log   *slog.Logger
}

// New prepares a lease on the client id; nothing is held until Acquire.
func New(rdb *redis.Client, clientID string, ttl time.Duration, log *slog.Logger) *Lease {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &Lease{
		rdb:   rdb,
		key:   "nemo:bridge:lease:" + clientID,
		fence: "nemo:bridge:lease:" + clientID + ":fence",
		ttl:   ttl,
		token: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b)),
		log:   log,
	}
}

// Holder is whoever holds the lease now ("" when nobody does).
func (l *Lease) Holder(ctx context.Context) string {
	h, _ := l.rdb.Get(ctx, l.key).Result()
	return h
}

// Held reports whether this publisher holds the lease now.
func (l *Lease) Held(ctx context.Context) (bool, error) {
	h, err := l.rdb.Get(ctx, l.key).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	return err == nil && h == l.token, err
}

// Acquire waits until this publisher holds the lease and returns its fencing
// number, which grows with every takeover: logs and the status topic carry
// it, so a takeover can be told from a flap.
func (l *Lease) Acquire(ctx context.Context) (int64, error) {
	logged := false
	for {
		ok, err := l.rdb.SetNX(ctx, l.key, l.token, l.ttl).Result()
		if err == nil && ok {
			return l.rdb.Incr(ctx, l.fence).Result()
		}
		if !logged {
			if err != nil {
				l.log.Warn("cannot reach Redis for the publisher lease; waiting", "err", err)
			} else {
				l.log.Info("another publisher holds the MQTT session; standing by", "holder", l.Holder(ctx), "lease", l.key)
			}
			logged = true
		}
		select {
		case <-time.After(l.ttl / 5):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Keep renews the lease every third of its TTL until ctx ends (nil) or the
// lease is lost (ErrLost). When Redis cannot be reached, the lease is
// counted as lost well before it would expire there, so that this
// publisher stops before a standby may start.
func (l *Lease) Keep(ctx context.Context) error {
	lastRenewed := time.Now()
	tick := time.NewTicker(l.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		n, err := renew.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
		switch {
		case err == nil && n == 1:
			lastRenewed = time.Now()
		case err == nil:
			return fmt.Errorf("%w: another publisher holds %s", ErrLost, l.key)
		case time.Since(lastRenewed) > l.ttl*2/3:
			return fmt.Errorf("%w: Redis unreachable for %s: %v", ErrLost, time.Since(lastRenewed).Round(time.Millisecond), err)
		}
	}
}

// Release gives the lease up at a clean stop, so a standby takes over at
// once instead of after the TTL.
func (l *Lease) Release(ctx context.Context) {
	if err := release.Run(ctx, l.rdb, []string{l.key}, l.token).Err(); err != nil {
		l.log.Warn("could not release the publisher lease; a standby takes over when it expires", "err", err)
	}
}
