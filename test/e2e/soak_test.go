package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/chaos"
	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// TestEveryFaultInTurnLosesAndReordersNothing is `make soak` in short:
// each fault strikes once, briefly, while events flow.
func TestEveryFaultInTurnLosesAndReordersNothing(t *testing.T) {
	t.Parallel()
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	r, err := chaos.Run(context.Background(), chaos.Options{
		Bin: bin, Dir: t.TempDir(), Log: &log,
		Rate: 100, Tools: 10,
		Duration: 30 * time.Second, Pause: 2 * time.Second,
		BrokerOutage: 3 * time.Second, RedisOutage: 2 * time.Second,
		Drain: 45 * time.Second,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var table strings.Builder
	r.Print(&table)
	t.Logf("\n%s%s", log.String(), table.String())
	if broken := r.Failed(); broken != "" {
		t.Fatal(broken)
	}
	if len(r.Faults) < 6 {
		t.Errorf("only %d faults struck, want each of the six: %v", len(r.Faults), r.Faults)
	}
	if r.Sent == 0 || r.HostileSent == 0 {
		t.Errorf("sent %d good and %d hostile entries: the run proves nothing", r.Sent, r.HostileSent)
	}
}
