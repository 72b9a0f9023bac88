package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// The whole bridge on a Redis Cluster of three primaries, every service
// given the redis+cluster:// URL, in stream mode and in list mode (the
// plugin's list, moved with BLMOVE to its processing list, which shares
// the list's hash slot): every event arrives, each tool's in order,
// nothing is left pending or in the processing list, and REST serves
// the tool state (kept with its sequences by one script, in one slot).
func TestClusterDeliversInOrder(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"stream", "list"} {
		t.Run(mode, func(t *testing.T) { clusterDeliversInOrder(t, mode) })
	}
}

func clusterDeliversInOrder(t *testing.T, mode string) {
	const tools, perTool = 10, 100
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	cluster, err := env.StartRedisCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	modeFlags := []string{"-ingest-mode", mode}
	p, err := env.StartPipeline(bin, harness.PipelineOptions{RedisURL: cluster.URL(), Ingest: modeFlags})
	if err != nil {
		t.Fatal(err)
	}
	rdb := cluster.Client()
	defer rdb.Close()
	write := func(envs []string) error {
		if mode == "list" {
			return harness.LPush(context.Background(), rdb, "nemo_mqtt_events", envs)
		}
		return harness.XAdd(context.Background(), rdb, "nemo:events", envs)
	}
	sub := subscribe(t, p, "nemo/tools/+/enabled")
	envs := harness.Envelopes(harness.Events(tools*perTool, tools, 0))
	for i := 0; i < len(envs); i += 100 {
		if err := write(envs[i:min(i+100, len(envs))]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitInOrder(t, sub, tools, perTool, 60*time.Second)
	eventually(t, 15*time.Second, func() error { return nothingLeft(rdb, mode) })

	// The tool state: even tools disabled last, odd ones still in use
	// (tool 0 is not a tool id REST takes).
	disable := disableEvenTools(tools)
	if err := write(disable); err != nil {
		t.Fatal(err)
	}
	token := secretFile(t, env, "admin-token", "s3cret")
	gw, err := p.StartGateway(append(modeFlags, "-admin-token-file", token)...)
	if err != nil {
		t.Fatal(err)
	}
	waitForOddToolsInUse(t, gw.HTTPAddr, tools)
	eventually(t, 15*time.Second, func() error { return nothingLeft(rdb, mode) })

	// A dead letter replayed: the input and the dead letters are in
	// different slots, so the entry is put back, then the letter removed.
	if err := write([]string{"this is not JSON"}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + gw.HTTPAddr
	var dl struct {
		DeadLetters []struct {
			ID string `json:"id"`
		} `json:"dead_letters"`
	}
	eventually(t, 20*time.Second, func() error {
		getJSON(t, base+"/v1/dead-letters", &dl)
		if len(dl.DeadLetters) != 1 {
			return fmt.Errorf("GET /v1/dead-letters = %+v, want one", dl)
		}
		return nil
	})
	first := dl.DeadLetters[0].ID
	if code := doJSON(t, http.MethodPost, base+"/v1/dead-letters/"+first+":replay", "s3cret", struct{}{}, nil); code != http.StatusOK {
		t.Fatalf("replay: %d", code)
	}
	eventually(t, 20*time.Second, func() error {
		getJSON(t, base+"/v1/dead-letters", &dl)
		if len(dl.DeadLetters) != 1 || dl.DeadLetters[0].ID == first {
			return fmt.Errorf("after the replay: %+v, want one new letter (refused again)", dl)
		}
		return nil
	})
	eventually(t, 15*time.Second, func() error { return nothingLeft(rdb, mode) })
	// The health page, which asks every primary for its clients in list
	// mode (CLIENT LIST answers for one node), says Redis answers.
	var health struct {
		Hops []struct {
			Name    string `json:"name"`
			Healthy bool   `json:"healthy"`
			Summary string `json:"summary"`
		} `json:"hops"`
	}
	if code := getJSON(t, "http://"+gw.HTTPAddr+"/v1/health", &health); code != http.StatusOK {
		t.Fatalf("GET /v1/health: %d", code)
	}
	for _, h := range health.Hops {
		if h.Name == "redis" && !h.Healthy {
			t.Errorf("the redis hop is not healthy: %s", h.Summary)
		}
	}
}

// nothingLeft says what is still unacknowledged: entries pending in the
// consumer group (stream mode), or in the list or its processing list.
func nothingLeft(rdb redis.UniversalClient, mode string) error {
	ctx := context.Background()
	if mode == "list" {
		for _, key := range []string{"nemo_mqtt_events", "{nemo_mqtt_events}:processing"} {
			if n, err := rdb.LLen(ctx, key).Result(); err != nil || n != 0 {
				return fmt.Errorf("%s holds %d entries (%v)", key, n, err)
			}
		}
		return nil
	}
	pending, err := rdb.XPending(ctx, "nemo:events", "nemo-bridge").Result()
	if err == nil && pending.Count != 0 {
		err = fmt.Errorf("%d entries still pending in the consumer group", pending.Count)
	}
	return err
}
