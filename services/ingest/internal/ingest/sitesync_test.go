package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/redistest"
)

// A site's NEMO page reads the bridge's status from the site's Redis:
// the copy carries the value with what is left of its TTL, so that a dead
// bridge's status expires at the site as it does at the bridge.
func TestASiteSeesTheBridgeStatus(t *testing.T) {
	bridge, site := redistest.Start(t), redistest.Start(t)
	ctx := context.Background()
	if err := copyStatusOnce(ctx, bridge, site); err != nil {
		t.Fatal(err)
	}
	if n := site.Exists(ctx, records.BridgeStatus).Val(); n != 0 {
		t.Fatal("a status was written at the site while the bridge has none")
	}
	if err := bridge.Set(ctx, records.BridgeStatus, records.BridgeConnected, 90*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if err := copyStatusOnce(ctx, bridge, site); err != nil {
		t.Fatal(err)
	}
	if got := site.Get(ctx, records.BridgeStatus).Val(); got != records.BridgeConnected {
		t.Errorf("the site reads %q, want %q", got, records.BridgeConnected)
	}
	if ttl := site.PTTL(ctx, records.BridgeStatus).Val(); ttl <= 80*time.Second || ttl > 90*time.Second {
		t.Errorf("the site's status lasts %s; want what is left of the bridge's 90s", ttl)
	}
}

// A site's NEMO plugin asks for a reload in the site's Redis: the
// requests move to the bridge's control list, oldest first, and leave the
// site's.
func TestASitesReloadRequestsReachTheRouters(t *testing.T) {
	bridge, site := redistest.Start(t), redistest.Start(t)
	ctx := context.Background()
	if err := site.LPush(ctx, records.ControlList, "first", records.ReloadConfig).Err(); err != nil {
		t.Fatal(err)
	}
	if err := forwardReloadsOnce(ctx, site, bridge); err != nil {
		t.Fatal(err)
	}
	// The routers pop from the right: the oldest first.
	if got := bridge.LRange(ctx, records.ControlList, 0, -1).Val(); len(got) != 2 || got[1] != "first" || got[0] != records.ReloadConfig {
		t.Errorf("the bridge's control list holds %q; want [reload_config first]", got)
	}
	if n := site.LLen(ctx, records.ControlList).Val(); n != 0 {
		t.Errorf("%d requests left at the site", n)
	}
	if err := forwardReloadsOnce(ctx, site, bridge); err != nil {
		t.Fatal(err)
	}
	if n := bridge.LLen(ctx, records.ControlList).Val(); n != 2 {
		t.Errorf("an empty list passed on %d requests", n-2)
	}
}
