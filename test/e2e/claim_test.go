package e2e

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// Entries that a crashed ingest (another consumer name) read and never
// acknowledged are taken over once idle longer than -claim-idle.
func TestEntriesLeftPendingByAnotherConsumerAreClaimed(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	p, err := env.StartPipeline(bin, harness.PipelineOptions{Ingest: []string{"-claim-idle", "2s", "-consumer", "ingest-new"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Ingest.Stop(); err != nil {
		t.Fatal(err)
	}
	rdb := p.Redis.Client(1)
	orphans := harness.Events(30, 3, 0)
	if err := harness.XAdd(ctx(t), rdb, "nemo:events", harness.Envelopes(orphans)); err != nil {
		t.Fatal(err)
	}
	// The crashed consumer read them all and died.
	read, err := rdb.XReadGroup(ctx(t), &redis.XReadGroupArgs{Group: "nemo-bridge", Consumer: "ingest-crashed", Streams: []string{"nemo:events", ">"}, Count: 100}).Result()
	if err != nil || len(read[0].Messages) != len(orphans) {
		t.Fatalf("the crashed consumer read %v, %v", read, err)
	}
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	if err := p.Ingest.Start(); err != nil {
		t.Fatal(err)
	}
	waitInOrder(t, sub, 3, 10, 30*time.Second)
	nothingPending(t, p)
}
