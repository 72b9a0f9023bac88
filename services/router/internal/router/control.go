package router

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/backoff"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// followControl reloads the rules on every reload_config on the control
// channel until ctx ends: the NEMO plugin's requests, which
// consumeControlList passes on there from the plugin's list, and any
// published there directly. That request made the plugin's bridge read its
// configuration again; the router answers it by reloading its rules file,
// so that the plugin's admin action keeps working. Other messages on the
// channel are for others and are ignored. go-redis subscribes again by
// itself after a Redis outage; what is published meanwhile is lost, which
// the file watch makes up for.
func followControl(ctx context.Context, rdb redis.UniversalClient, book *rulebook, log *slog.Logger) {
	sub := rdb.Subscribe(ctx, records.ControlChannel)
	defer sub.Close()
	msgs := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			if strings.TrimSpace(m.Payload) != records.ReloadConfig {
				log.Debug("control message ignored", "channel", records.ControlChannel, "payload", m.Payload)
				continue
			}
			// A refusal is logged and kept for GetRules by the rulebook.
			_, _ = book.reload(records.ReloadConfig)
		}
	}
}

const (
	// controlPoll is how long one BLPOP on the control list waits. go-redis
	// does not interrupt a blocked command when ctx ends, so this bounds
	// how long the consumer outlives a stopping router.
	controlPoll = time.Second
	// controlBatch is how many entries are taken at once after the first:
	// a list that grew while nothing read it (the plugin pushes at every
	// save of its settings) is emptied in a few round trips, and all the
	// reload_config in it ask for one reload.
	controlBatch = 100
	// controlShown is how much of an unknown entry the log shows: enough to
	// recognise it, not a whole payload that might hold anything.
	controlShown = 64
)

// consumeControlList empties the list where the NEMO plugin asks its
// bridge to reload (it LPUSHes reload_config, and its own bridge used to
// pop it), until ctx ends, so that the list never grows. Every router
// consumes it, whether or not it has a rules file to reload.
//
// Several routers may run and only one of them pops a given entry, so a
// router does not reload on what it pops: it publishes reload_config on
// the control channel, and every router, this one included, reloads on
// that through followControl. Other entries are logged and dropped. Redis
// outages are waited out with backoff, logged once each.
func consumeControlList(ctx context.Context, rdb redis.UniversalClient, log *slog.Logger) {
	r := redisRetry{log: log, wait: backoff.New(100*time.Millisecond, 5*time.Second)}
	reload := false // a reload_config was popped and is not passed on yet
	for ctx.Err() == nil {
		entries, drained, err := popControl(ctx, rdb)
		var unknown []string
		for _, e := range entries {
			if strings.TrimSpace(e) == records.ReloadConfig {
				reload = true
			} else {
				unknown = append(unknown, e)
			}
		}
		if len(unknown) > 0 {
			log.Info("dropped entries of the NEMO plugin's control list that are not reload_config", "list", records.ControlList, "count", len(unknown), "first", shorten(unknown[0], controlShown))
		}
		if err != nil {
			r.failed(ctx, "read the NEMO plugin's control list "+records.ControlList, err)
			continue
		}
		r.ok()
		// Reloading once the list is empty answers every request in it:
		// the file is read after all of them were made.
		if reload && drained {
			askEveryRouter(ctx, rdb, &r, log)
			reload = false
		}
	}
}

// popControl waits up to controlPoll for an entry of the control list and
// takes it with up to controlBatch more. drained says the list had no
// more.
func popControl(ctx context.Context, rdb redis.UniversalClient) (entries []string, drained bool, _ error) {
	first, err := rdb.BLPop(ctx, controlPoll, records.ControlList).Result()
	if errors.Is(err, redis.Nil) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	// LRANGE and LTRIM in one transaction take entries atomically, on every
	// Redis version (LPOP with a count needs 6.2).
	var more *redis.StringSliceCmd
	if _, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		more = p.LRange(ctx, records.ControlList, 0, controlBatch-1)
		p.LTrim(ctx, records.ControlList, controlBatch, -1)
		return nil
	}); err != nil {
		// What BLPOP took is still handled; the rest waits for the next
		// round.
		return first[1:], false, err
	}
	return append(first[1:], more.Val()...), len(more.Val()) < controlBatch, nil
}

// askEveryRouter publishes reload_config on the control channel, retrying
// through a Redis outage so that a popped request is not lost.
func askEveryRouter(ctx context.Context, rdb redis.UniversalClient, r *redisRetry, log *slog.Logger) {
	for ctx.Err() == nil {
		routers, err := rdb.Publish(ctx, records.ControlChannel, records.ReloadConfig).Result()
		if err != nil {
			r.failed(ctx, "pass reload_config on the control channel "+records.ControlChannel, err)
			continue
		}
		r.ok()
		log.Info("the NEMO plugin asked for a reload; passed on to every router", "list", records.ControlList, "channel", records.ControlChannel, "subscribers", routers)
		return
	}
}

// redisRetry spaces the attempts of a loop through a Redis outage and
// logs the outage once, and its end, rather than at every attempt.
type redisRetry struct {
	log  *slog.Logger
	wait *backoff.Backoff
	down bool
}

func (r *redisRetry) failed(ctx context.Context, action string, err error) {
	if ctx.Err() != nil {
		return
	}
	if !r.down {
		r.log.Warn("Redis unreachable; retrying until it answers", "action", action, "err", err)
		r.down = true
	}
	_ = backoff.Sleep(ctx, r.wait.Next()) // the caller's loop sees ctx's end
}

func (r *redisRetry) ok() {
	if r.down {
		r.log.Info("Redis answers again")
		r.down = false
	}
	r.wait.Reset()
}

// shorten cuts s to at most n bytes, on a character boundary.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
