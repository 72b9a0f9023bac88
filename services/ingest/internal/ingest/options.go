// Package ingest is the ingest service: it reads NEMO's events from Redis,
// streams them to the router, and acknowledges each in Redis only once the
// broker has every message it produced (or it went to the dead letters).
package ingest

import (
	"flag"
	"fmt"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/ingest/internal/source"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/pluginlist"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/publishable"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/secret"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/timezone"
)

// Options configure ingest.
type Options struct {
	Service          service.Options
	RedisURL         string
	Mode             string
	Stream           source.StreamConfig
	List             string
	ProcessingList   string
	ListCheckEvery   time.Duration // list mode: how often to look for other programs popping the list; 0: never
	Channel          string
	DeadLetterStream string
	DeadLetterMaxLen int64
	MaxPayloadBytes  int
	BatchSize        int
	Window           int
	WindowBytes      int
	RouterAddr       string
	// RouterFailover is how long a router's stream may stay closed before
	// its tools move to other routers (several in RouterAddr only).
	RouterFailover time.Duration

	routerAddrs []string // RouterAddr's addresses, set by validate

	// LeaseRedisURL is the Redis holding the lease of the input ("": the
	// input's, -redis-url); LeaseTTL how long a dead holder's lease lasts
	// (0: no lease).
	LeaseRedisURL string
	LeaseTTL      time.Duration

	// Site names the NEMO site of the input when one deployment serves
	// several ("": the default site); SiteTopicPrefix goes before every
	// topic of its messages.
	Site                string
	SiteTopicPrefix     string
	SiteDisplayTimezone string
}

// Bind registers ingest's flags.
func (o *Options) Bind(fs *flag.FlagSet) {
	o.Service.Bind(fs, "ingest", "127.0.0.1:7001", "127.0.0.1:9101")
	secret.Var(fs, &o.RedisURL, "redis-url", "redis://localhost:6379/1", "Redis holding NEMO's events (the NEMO plugin uses database 1): redis://, redis+sentinel://sentinel:26379,.../master/db or redis+cluster://node:6379,...")
	fs.StringVar(&o.Mode, "ingest-mode", "stream", "stream (durable, default), list (the NEMO plugin's list) or pubsub (best effort, lossy)")
	fs.StringVar(&o.Stream.Stream, "stream", records.InputStream, "stream mode: the stream NEMO writes to")
	fs.StringVar(&o.Stream.Group, "group", "nemo-bridge", "stream mode: consumer group")
	fs.StringVar(&o.Stream.Consumer, "consumer", "", "stream mode: consumer name (empty: the group's name); the active ingest and its standby share it, so that the one taking over reads what the other left pending first")
	fs.StringVar(&o.Stream.GroupStart, "group-start", "0", "stream mode: where a new consumer group starts: 0 (everything in the stream) or $ (only new entries)")
	fs.DurationVar(&o.Stream.ClaimIdle, "claim-idle", 30*time.Second, "stream mode: take over entries another consumer left pending this long")
	fs.StringVar(&o.List, "list", records.InputList, "list mode: the list the NEMO plugin pushes to ("+pluginlist.OlderName+" for older plugin versions) [$"+pluginlist.Setting+"]")
	fs.StringVar(&o.ProcessingList, "processing-list", "", "list mode: where entries wait until acknowledged (empty: {<list>}:processing, in the list's Redis Cluster hash slot)")
	fs.DurationVar(&o.ListCheckEvery, "list-check-interval", 15*time.Second, "list mode: how often to look for another program taking entries from the list, such as the NEMO plugin's own MQTT bridge (0: never)")
	fs.StringVar(&o.Channel, "channel", records.InputChannel, "pubsub mode: the channel")
	fs.StringVar(&o.DeadLetterStream, "dead-letter-stream", records.DeadLetters, "stream receiving refused events with the reason")
	fs.Int64Var(&o.DeadLetterMaxLen, "dead-letter-maxlen", 100000, "dead letters kept (oldest trimmed first)")
	fs.IntVar(&o.MaxPayloadBytes, "max-payload-bytes", 65536, "larger payloads go to the dead letters")
	fs.IntVar(&o.BatchSize, "batch-size", 256, "entries read from Redis at a time; once the window is full, reading waits until this many fit again (a quarter of -window at most)")
	fs.IntVar(&o.WindowBytes, "window-bytes", 8<<20, "bytes of entries in flight at most, besides -window: large payloads make the window hold fewer events (0: no bound in bytes)")
	fs.IntVar(&o.Window, "window", 4000, "events in flight at most; reading stops while this many await the broker (it bounds memory and the events a crash sends again)")
	fs.StringVar(&o.RouterAddr, "router-addr", "localhost:7002", "gRPC address of the router; several router replicas separated by commas, each tool going to one of them")
	fs.DurationVar(&o.RouterFailover, "router-failover", 5*time.Second, "with several -router-addr: how long a router's stream may stay closed (and fail to reopen) before its tools move to the next router")
	secret.Var(fs, &o.LeaseRedisURL, "lease-redis-url", "", "the bridge's own Redis, when the input is in another (a NEMO site's): it holds the lease that lets only one ingest per input read (others with the same configuration stand by) and the running totals the status page's rates read (empty: the Redis of -redis-url)")
	fs.DurationVar(&o.LeaseTTL, "lease-ttl", 5*time.Second, "how long a dead ingest's lease lasts before a standby takes over (at least 2s; 0: no lease, run only one ingest per input)")
	fs.StringVar(&o.Site, "site", "", "when one bridge serves several NEMO sites, the site this input belongs to: its tools are kept apart from other sites' in the tool state, REST and the page (empty: the default site)")
	fs.StringVar(&o.SiteTopicPrefix, "site-topic-prefix", "", "with -site, put before every topic of the site's messages, the rules' and the displays' alike (empty: the site's name and /)")
	fs.StringVar(&o.SiteDisplayTimezone, "site-display-timezone", "", "with -site, the IANA time zone the site's tool displays show times in, for example Europe/Paris (empty: the router's -display-timezone)")
}

func (o *Options) validate() error {
	switch o.Mode {
	case "stream", "list", "pubsub":
	default:
		return fmt.Errorf("-ingest-mode %q: want stream, list or pubsub", o.Mode)
	}
	if o.ListCheckEvery < 0 {
		return fmt.Errorf("-list-check-interval %s: want 0 (never) or more", o.ListCheckEvery)
	}
	if o.WindowBytes < 0 {
		return fmt.Errorf("-window-bytes %d: want 0 (no bound) or more", o.WindowBytes)
	}
	if o.Window < 1 || o.BatchSize < 1 {
		return fmt.Errorf("-window and -batch-size must be at least 1 (got %d and %d)", o.Window, o.BatchSize)
	}
	addrs, err := parseRouterAddrs(o.RouterAddr)
	if err != nil {
		return err
	}
	o.routerAddrs = addrs
	if o.RouterFailover <= 0 {
		return fmt.Errorf("-router-failover %s: want more than 0", o.RouterFailover)
	}
	if o.LeaseTTL != 0 && o.LeaseTTL < minLeaseTTL {
		return fmt.Errorf("-lease-ttl %s: want 0 (no lease) or at least %s", o.LeaseTTL, minLeaseTTL)
	}
	if err := o.checkSite(); err != nil {
		return err
	}
	if o.Stream.Consumer == "" {
		o.Stream.Consumer = o.Stream.Group
	}
	if o.ProcessingList == "" {
		o.ProcessingList = records.ProcessingList(o.List)
	}
	return nil
}

// checkSite checks -site and -site-topic-prefix and fills in the prefix's
// default. A named site must have a prefix: without one its tool 12 would
// share every topic with another site's.
func (o *Options) checkSite() error {
	if err := records.CheckSite(o.Site); err != nil {
		return fmt.Errorf("-site: %w", err)
	}
	if o.Site == "" {
		if o.SiteTopicPrefix != "" {
			return fmt.Errorf("-site-topic-prefix %q needs -site: the default site's topics take the router's -topic-prefix", o.SiteTopicPrefix)
		}
		if o.SiteDisplayTimezone != "" {
			return fmt.Errorf("-site-display-timezone %q needs -site: the default site's displays take the router's -display-timezone", o.SiteDisplayTimezone)
		}
		return nil
	}
	if tz := o.SiteDisplayTimezone; tz != "" {
		if _, err := timezone.Load(tz); err != nil {
			return fmt.Errorf("-site-display-timezone %w", err)
		}
	}
	if o.SiteTopicPrefix == "" {
		o.SiteTopicPrefix = o.Site + "/"
	}
	if err := publishable.Prefix(o.SiteTopicPrefix); err != nil {
		return fmt.Errorf("-site-topic-prefix %q: %w", o.SiteTopicPrefix, err)
	}
	return nil
}
