// Package pluginstatus keeps the string from which the NEMO plugin's page
// reads whether its bridge is connected to the broker
// (nemo_mqtt_bridge_status), the way the plugin's own bridge keeps it, so
// that a lab's NEMO page shows this bridge's real state: "connected" or
// "disconnected", written with a TTL and refreshed while the publisher
// lives, so that the status of a publisher that died expires.
package pluginstatus

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/backoff"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

// The plugin's own timing: its bridge writes the status with a TTL of
// 90 s and refreshes it every 30 s, so one or two missed refreshes do not
// blank the page, and a dead bridge's status is gone 90 s later.
const (
	statusTTL     = 90 * time.Second
	statusRefresh = 30 * time.Second
)

// errNotActive means another publisher holds the lease: its status is the
// bridge's, and this one must not overwrite it.
var errNotActive = errors.New("another publisher holds the MQTT session")

// Keeper writes the status while this publisher is the active one.
type Keeper struct {
	rdb redis.UniversalClient
	// active says whether this publisher still holds the lease; nil
	// without a lease, when it is always the active one.
	active       func(context.Context) (bool, error)
	log          *slog.Logger
	ttl, refresh time.Duration

	mu    sync.Mutex
	state string // the last state reported; "" before the first
	// changed wakes Run when the state changed; one pending wake-up is
	// enough, as Run writes the latest state.
	changed chan struct{}

	// failing is whether the last write failed, so that a Redis outage is
	// logged once and not at every attempt. Only Run, then Stopped, write.
	failing bool
}

// New prepares a keeper writing into rdb. active, when not nil, is asked
// before every write whether this publisher still holds the lease: one
// paused past its lease's TTL must not say "disconnected" (the broker
// having handed its session to the new active publisher) over the new
// one's "connected".
func New(rdb redis.UniversalClient, active func(context.Context) (bool, error), log *slog.Logger) *Keeper {
	return &Keeper{rdb: rdb, active: active, log: log, ttl: statusTTL, refresh: statusRefresh, changed: make(chan struct{}, 1)}
}

// Connected takes the MQTT session's state. It never blocks: the MQTT
// client calls it from its connection callbacks.
func (k *Keeper) Connected(up bool) {
	state := records.BridgeDisconnected
	if up {
		state = records.BridgeConnected
	}
	k.mu.Lock()
	changed := k.state != state
	k.state = state
	k.mu.Unlock()
	if changed {
		select {
		case k.changed <- struct{}{}:
		default:
		}
	}
}

// Run writes the state at every change and refreshes it every 30 s, until
// ctx ends. A write that fails is tried again sooner, with backoff, so
// that the page catches up soon after a Redis outage.
func (k *Keeper) Run(ctx context.Context) {
	retry := backoff.New(k.refresh/30, k.refresh)
	timer := time.NewTimer(k.refresh)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.changed:
		case <-timer.C:
		}
		next := k.refresh
		if err := k.write(ctx); err != nil && !errors.Is(err, errNotActive) {
			next = retry.Next()
		} else {
			retry.Reset()
		}
		timer.Reset(next)
	}
}

// Stopped writes "disconnected" at a clean stop, once Run has returned,
// as the plugin's page would otherwise say "connected" until the status
// expires.
func (k *Keeper) Stopped(ctx context.Context) {
	k.Connected(false)
	_ = k.write(ctx)
}

// write puts the state in Redis, if there is one to write and this
// publisher is the active one.
func (k *Keeper) write(ctx context.Context) error {
	k.mu.Lock()
	state := k.state
	k.mu.Unlock()
	if state == "" {
		return nil
	}
	err := k.checkActive(ctx)
	if err == nil {
		err = k.rdb.SetEx(ctx, records.BridgeStatus, state, k.ttl).Err()
	}
	switch {
	case errors.Is(err, errNotActive):
		k.log.Debug("not writing the NEMO plugin's bridge status", "key", records.BridgeStatus, "state", state, "reason", err)
	case err != nil && ctx.Err() == nil && !k.failing:
		k.failing = true
		k.log.Warn("cannot write the NEMO plugin's bridge status to Redis; its page may show an old state until Redis answers", "key", records.BridgeStatus, "state", state, "err", err)
	case err == nil && k.failing:
		k.failing = false
		k.log.Info("the NEMO plugin's bridge status is written again", "key", records.BridgeStatus, "state", state)
	}
	return err
}

func (k *Keeper) checkActive(ctx context.Context) error {
	if k.active == nil {
		return nil
	}
	held, err := k.active(ctx)
	if err == nil && !held {
		return errNotActive
	}
	return err
}
