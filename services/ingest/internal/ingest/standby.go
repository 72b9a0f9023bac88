package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/backoff"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/lease"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
)

// minLeaseTTL is the shortest -lease-ttl: the holder counts its lease lost
// at 8/10 of it and starts a read only while more than source.ReadWait is
// left before it must have stopped (9/10), which a renewal every third of
// the TTL leaves only from about 2 s up.
const minLeaseTTL = 2 * time.Second

// leaseKey names the input this ingest reads: two ingests with one key
// must never read at once (records.IngestLease).
func (o *Options) leaseKey() string {
	switch o.Mode {
	case "list":
		return records.IngestLease(o.Site, "list", o.List)
	case "pubsub":
		return records.IngestLease(o.Site, "pubsub", o.Channel)
	}
	return records.IngestLease(o.Site, "stream", o.Stream.Stream, o.Stream.Group, o.Stream.Consumer)
}

// readerName names the connections through which ingest reads the input
// (after redisconn.NamePrefix): the same for every ingest of one lease, so
// that the next holder finds an earlier one's (closeEarlierReaders).
func (o *Options) readerName() string {
	sum := sha256.Sum256([]byte(o.leaseKey()))
	return "ingest-reader-" + hex.EncodeToString(sum[:6])
}

// bridgeRedis is the bridge's own Redis, holding the lease and the running
// totals: that of -lease-redis-url, or else the input's. A mistake in the
// URL is reported without the URL, which may hold a password.
func bridgeRedis(o Options, input redisconn.Config) (redisconn.Config, error) {
	if o.LeaseRedisURL == "" {
		return input, nil
	}
	return redisconn.Parse("lease-redis-url", o.LeaseRedisURL, "ingest")
}

// openLeaseRedis makes the client of the lease, nil without one.
func openLeaseRedis(o Options, bridge redisconn.Config) redis.UniversalClient {
	if o.LeaseTTL == 0 {
		return nil
	}
	// Every call of the lease has a deadline within the lease's time,
	// which go-redis applies to the connection only when told to.
	return bridge.WithContextTimeout().Client()
}

// activeGauge is nemo_ingest_active: 1 while this ingest reads its input,
// 0 while it stands by.
func activeGauge(reg prometheus.Registerer) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "nemo_ingest_active",
		Help: "1 while this ingest holds the lease of its input and reads it, 0 while it stands by (another ingest with the same configuration reads).",
	})
	reg.MustRegister(g)
	return g
}

// leased reads the input with read while this ingest holds the lease, and
// stands by while another one does, until ctx ends. read runs one term:
// until its context ends, a clean stop (ctx) or the lease lost
// (context.Cause is lease.ErrLost). A lost lease sends this ingest back to
// standing by, as the publisher does: no supervisor is needed to get a
// standby back after a Redis outage. On a clean stop the lease is released
// once read has settled what it could, so that a standby takes over at
// once.
//
// fence, when not nil, runs once the lease is taken and before read: it
// closes what an earlier holder left open (closeEarlierReaders).
func leased(ctx context.Context, held *lease.Lease, log *slog.Logger, active prometheus.Gauge, health *healthState, fence func(context.Context), read func(context.Context) error) error {
	for {
		active.Set(0)
		health.setStandby(true)
		number, err := held.Acquire(ctx)
		if err != nil {
			return nil // stopped while standing by
		}
		log.Info("holding the ingest lease: this ingest reads the input", "lease", held.Key(), "fence", number)
		if fence != nil {
			fence(ctx)
		}
		active.Set(1)
		health.setStandby(false)

		termCtx, endTerm := context.WithCancelCause(ctx)
		keepCtx, stopKeeping := context.WithCancel(context.Background())
		kept := make(chan error, 1)
		go func() {
			err := held.Keep(keepCtx)
			if err != nil {
				// Not ready from this moment, before reading has
				// stopped: a standby may soon take over.
				health.setStandby(true)
				active.Set(0)
				endTerm(err)
			}
			kept <- err
		}()
		err = read(termCtx)
		if cause := context.Cause(termCtx); errors.Is(cause, lease.ErrLost) {
			stopKeeping()
			endTerm(nil)
			<-kept
			log.Warn("lost the ingest lease; stopped reading and standing by for it again", "err", cause, "lease", held.Key())
			continue
		}
		stopKeeping()
		lostDuringStop := <-kept
		endTerm(nil)
		if lostDuringStop == nil {
			releaseCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			held.Release(releaseCtx)
			cancel()
		}
		return err
	}
}

// closeEarlierReaders closes every connection to the input's Redis named
// redisconn.NamePrefix + name (readerName): those through which an earlier
// holder of the lease read, before this one reads. A read that the earlier
// holder sent while it held the lease but that is still on its way (a
// network path that held it back, then heals) would otherwise reach Redis
// after the takeover and take entries that this holder does not know of;
// on a closed connection Redis never runs it. It asks every primary of a
// Cluster. It returns how many it closed.
func closeEarlierReaders(ctx context.Context, rdb redis.UniversalClient, name string) (int, error) {
	if cluster, ok := rdb.(*redis.ClusterClient); ok {
		var (
			mu    sync.Mutex
			total int
		)
		err := cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			n, err := closeEarlierReaders(ctx, node, name)
			mu.Lock()
			defer mu.Unlock()
			total += n
			return err
		})
		return total, err
	}
	text, err := rdb.ClientList(ctx).Result()
	if err != nil {
		return 0, err
	}
	closed := 0
	for line := range strings.Lines(text) {
		var id, named string
		for field := range strings.FieldsSeq(line) {
			if k, v, ok := strings.Cut(field, "="); ok {
				switch k {
				case "id":
					id = v
				case "name":
					named = v
				}
			}
		}
		if id == "" || named != redisconn.NamePrefix+name {
			continue
		}
		n, err := rdb.ClientKillByFilter(ctx, "ID", id).Result()
		if err != nil {
			return closed, err
		}
		closed += int(n)
	}
	return closed, nil
}

// readerFence is leased's fence: closeEarlierReaders, said in the log. It
// is best effort: a Redis that refuses CLIENT (an ACL, a managed service)
// is said once, and reading goes on without it.
func readerFence(rdb redis.UniversalClient, name string, log *slog.Logger) func(context.Context) {
	saidRefused := false
	return func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		n, err := closeEarlierReaders(ctx, rdb, name)
		switch {
		case err != nil && !saidRefused:
			saidRefused = true
			log.Warn("could not close the connections an earlier ingest read through; a read of it held back in the network could still reach Redis after this takeover", "err", err)
		case n > 0:
			log.Info("closed the connections an earlier ingest read through", "connections", n)
		}
	}
}

// mayRead says whether the lease leaves time for one more read: a blocking
// read that arrives in Redis now may wait there source.ReadWait, and must
// be over before the holder's deadline (lease.DropBy), shortly before a
// standby may take the lease. Right after a renewal far more is left; a
// renewal that is late holds reading back until it comes, or the lease is
// lost.
func mayRead(held *lease.Lease) func() bool {
	return func() bool { return time.Until(held.DropBy()) > source.ReadWait }
}

// waitLease blocks while p may not read (see mayRead), until ctx ends; it
// reports whether reading may go on.
func (p *pipeline) waitLease(ctx context.Context) bool {
	for p.mayRead != nil && !p.mayRead() {
		if backoff.Sleep(ctx, 20*time.Millisecond) != nil {
			return false
		}
	}
	return ctx.Err() == nil
}

// lostLease says whether ctx ended because the lease was lost.
func lostLease(ctx context.Context) bool {
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), lease.ErrLost)
}

// abandon forgets what is in flight once the lease is lost, with the link
// to the router and the acknowledgements stopped: the entries stay pending
// in Redis (the stream's consumer, shared with the standby, or the
// processing list), where the next holder reads them again before anything
// new. Nothing read is acknowledged after the loss; answers that came
// before it and wait for their acknowledgement are dropped too (the next
// holder delivers them again: duplicates, never losses).
func (p *pipeline) abandon() int {
	n := p.window.len()
	p.link.Abandon()
	p.window.clear()
	for {
		select {
		case <-p.settled:
		default:
			return n
		}
	}
}
