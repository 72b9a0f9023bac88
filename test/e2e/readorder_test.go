package e2e

import (
	"bytes"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// An XREADGROUP ">" whose reply is lost (a connection reset with the reply
// on the wire) has already made its entries pending for ingest in Redis.
// Ingest must read them again before anything newer, at once: not after
// newer events of the same tools, and not only when XAUTOCLAIM finds them
// idle 30 s later. It must also say in its log that it did.
func TestStreamLostReadReplyKeepsOrder(t *testing.T) {
	t.Parallel()
	const tools = 5
	p := startPipeline(t, harness.PipelineOptions{GateIngestRedis: true})
	sub := subscribe(t, p, "nemo/tools/+/enabled")

	var mu sync.Mutex
	reading := map[int]bool{} // connections with an XREADGROUP ">" awaiting its reply
	var droppedAt time.Time
	p.IngestRedisGate.SetTap(func(conn int, dir harness.Direction, chunk []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if !droppedAt.IsZero() {
			return true
		}
		if dir == harness.ToTarget {
			reading[conn] = bytes.Contains(bytes.ToLower(chunk), []byte("xreadgroup")) && bytes.Contains(chunk, []byte("\r\n>\r\n"))
			return true
		}
		if !reading[conn] {
			return true
		}
		reading[conn] = false
		if !bytes.Contains(chunk, []byte("nemo:events")) {
			return true // a read that timed out with nothing
		}
		droppedAt = time.Now()
		return false
	})
	dropped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !droppedAt.IsZero()
	}

	// One event per tool a wave, until ten waves came after the lost reply,
	// so that every tool has newer events than the ones that were lost.
	rdb := p.Redis.Client(1)
	waves, after := 0, 0
	for after < 10 {
		if waves == 100 {
			t.Fatal("no XREADGROUP reply with entries went through the gate in 100 waves")
		}
		if err := harness.XAdd(ctx(t), rdb, "nemo:events", harness.Envelopes(harness.Events(tools, tools, waves))); err != nil {
			t.Fatal(err)
		}
		waves++
		if dropped() {
			after++
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitInOrder(t, sub, tools, waves, 20*time.Second)
	mu.Lock()
	took := time.Since(droppedAt)
	mu.Unlock()
	if took > 15*time.Second {
		t.Fatalf("the events arrived %s after the lost reply: the lost entries waited for XAUTOCLAIM", took.Round(time.Second))
	}
	// The same line at start says why="ingest started: ...".
	if !regexp.MustCompile(`read this consumer's pending entries again.*why="a read failed`).MatchString(serviceLog(t, p.Env, "ingest")) {
		t.Fatal("ingest's log does not say it read its pending entries again after the failed read")
	}
	nothingPending(t, p)
}
