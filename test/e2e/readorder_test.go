package e2e

import (
	"bytes"
	"context"
	"fmt"
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
	droppedAt := dropOneReply(p.IngestRedisGate, "nemo:events", func(cmd []byte) bool {
		return bytes.Contains(bytes.ToLower(cmd), []byte("xreadgroup")) && bytes.Contains(cmd, []byte("\r\n>\r\n"))
	})
	rdb := p.Redis.Client(1)
	waves := pushWavesAround(t, droppedAt, func(wave int) error {
		return harness.XAdd(ctx(t), rdb, "nemo:events", harness.Envelopes(harness.Events(tools, tools, wave)))
	})
	waitInOrder(t, sub, tools, waves, 20*time.Second)
	if took := time.Since(droppedAt()); took > 15*time.Second {
		t.Fatalf("the events arrived %s after the lost reply: the lost entries waited for XAUTOCLAIM", took.Round(time.Second))
	}
	// The same line at start says why="ingest started: ...".
	if !regexp.MustCompile(`read this consumer's pending entries again.*why="a read failed`).MatchString(serviceLog(t, p.Env, "ingest")) {
		t.Fatal("ingest's log does not say it read its pending entries again after the failed read")
	}
	nothingPending(t, p)
}

// A BLMOVE whose reply is lost has already moved its entry to the
// processing list in Redis. Ingest must deliver that entry before any newer
// one, at once, not when it next starts; it must not move the next entry in
// its stead; and it must say in its log that it read the processing list
// again.
func TestListLostMoveReplyKeepsOrder(t *testing.T) {
	t.Parallel()
	const tools = 5
	p := startPipeline(t, harness.PipelineOptions{GateIngestRedis: true, Ingest: []string{"-ingest-mode", "list"}})
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	// The reply to a BLMOVE that moved nothing is a null, with no topic.
	droppedAt := dropOneReply(p.IngestRedisGate, "nemo/tools/", func(cmd []byte) bool {
		return bytes.Contains(bytes.ToLower(cmd), []byte("blmove"))
	})
	rdb := p.Redis.Client(1)
	waves := pushWavesAround(t, droppedAt, func(wave int) error {
		return harness.LPush(ctx(t), rdb, "nemo_mqtt_events", harness.Envelopes(harness.Events(tools, tools, wave)))
	})
	waitInOrder(t, sub, tools, waves, 20*time.Second)
	if took := time.Since(droppedAt()); took > 15*time.Second {
		t.Fatalf("the events arrived %s after the lost reply", took.Round(time.Second))
	}
	// The same line at start says why="ingest started: ...".
	if !regexp.MustCompile(`read the processing list again.*why="a move failed`).MatchString(serviceLog(t, p.Env, "ingest")) {
		t.Fatal("ingest's log does not say it read the processing list again after the failed move")
	}
	nothingInProcessing(t, p)
}

// dropOneReply makes gate cut the connection carrying the first reply that
// holds carrying to a command for which isRead is true, so that the reply
// never reaches ingest. The function returned says when that happened
// (zero until then).
func dropOneReply(gate *harness.Gate, carrying string, isRead func(cmd []byte) bool) func() time.Time {
	var mu sync.Mutex
	reading := map[int]bool{} // connections with a read awaiting its reply
	var droppedAt time.Time
	gate.SetTap(func(conn int, dir harness.Direction, chunk []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if !droppedAt.IsZero() {
			return true
		}
		if dir == harness.ToTarget {
			reading[conn] = isRead(chunk)
			return true
		}
		if !reading[conn] {
			return true
		}
		reading[conn] = false
		if !bytes.Contains(chunk, []byte(carrying)) {
			return true // a read that timed out with nothing
		}
		droppedAt = time.Now()
		return false
	})
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return droppedAt
	}
}

// pushWavesAround pushes one event per tool a wave (push(wave) writes
// wave's events) until ten waves came after the reply was dropped, so that
// every tool has newer events than the ones that were lost. It returns how
// many waves it pushed.
func pushWavesAround(t *testing.T, droppedAt func() time.Time, push func(wave int) error) int {
	t.Helper()
	waves, after := 0, 0
	for after < 10 {
		if waves == 100 {
			t.Fatal("no reply with entries went through the gate in 100 waves")
		}
		if err := push(waves); err != nil {
			t.Fatal(err)
		}
		waves++
		if !droppedAt().IsZero() {
			after++
		}
		time.Sleep(100 * time.Millisecond)
	}
	return waves
}

// nothingInProcessing waits until every entry ingest moved to the
// processing list (list mode) is acknowledged.
func nothingInProcessing(t *testing.T, p *harness.Pipeline) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		n, err := p.Redis.Client(1).LLen(context.Background(), "{nemo_mqtt_events}:processing").Result()
		if err == nil && n != 0 {
			err = fmt.Errorf("%d entries left in the processing list", n)
		}
		return err
	})
}
