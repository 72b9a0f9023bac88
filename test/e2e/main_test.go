// Package e2e tests the bridge end to end: real redis-server and mosquitto
// (TLS with certificates made by the test) on free loopback ports, and the
// services as separate processes built from this tree with the race
// detector.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

func TestMain(m *testing.M) {
	code := m.Run()
	harness.RemoveBuilt()
	os.Exit(code)
}

// newEnv gives a test its own environment, stopped when the test ends; a
// failing test prints the tail of every log.
func newEnv(t *testing.T) *harness.Env {
	t.Helper()
	for _, tool := range []string{"redis-server", "mosquitto"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (apt-get install redis-server mosquitto): %v", tool, err)
		}
	}
	env := harness.NewEnv(t.TempDir())
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("\n" + env.LogTails(30))
		}
		env.Close()
	})
	return env
}

// startRedisAndBroker builds the services (once, with the race detector)
// and starts Redis and mosquitto with TLS; the pipeline has no services
// yet, for a test that starts them its own way.
func startRedisAndBroker(t *testing.T, broker harness.MosquittoOptions) *harness.Pipeline {
	t.Helper()
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t)
	p := &harness.Pipeline{Env: env, Bin: bin}
	if p.Redis, err = env.StartRedis(); err != nil {
		t.Fatal(err)
	}
	if p.PKI, err = env.NewPKI(); err != nil {
		t.Fatal(err)
	}
	if p.Broker, err = env.StartMosquitto(p.PKI, broker); err != nil {
		t.Fatal(err)
	}
	return p
}

// startPipeline builds the services (once) and starts everything.
func startPipeline(t *testing.T, o harness.PipelineOptions) *harness.Pipeline {
	t.Helper()
	bin, err := harness.BuildRace()
	if err != nil {
		t.Fatal(err)
	}
	p, err := newEnv(t).StartPipeline(bin, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func subscribe(t *testing.T, p *harness.Pipeline, filter string) *harness.Subscriber {
	t.Helper()
	s, err := p.Subscribe(filter)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitInOrder waits until every tool's events 0..perTool-1 arrived, in
// order per tool.
func waitInOrder(t *testing.T, s *harness.Subscriber, tools, perTool int, stall time.Duration) {
	t.Helper()
	err := s.WaitFor(stall, func(msgs []harness.Message) (bool, string) {
		n, err := harness.CheckOrder(msgs, tools, perTool)
		if err != nil && bytes.Contains([]byte(err.Error()), []byte("arrived when")) {
			time.Sleep(5 * time.Second) // let late arrivals in: were they lost, or reordered?
			t.Fatalf("order broken: %v\n%s", err, harness.Arrivals(s.Messages(), err))
		}
		return err == nil, fmt.Sprintf("%d of %d distinct events arrived (%v)", n, tools*perTool, err)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return c
}

// eventually retries check until it passes or timeout runs out.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// secretFile writes a secret (a token, a URL with a password) into a file
// of env's directory, as a mounted Kubernetes secret would hold it, and
// returns its path for a -…-file flag.
func secretFile(t *testing.T, env *harness.Env, name, value string) string {
	t.Helper()
	path := filepath.Join(env.Dir, name)
	if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// nothingPending waits until every entry of the stream is acknowledged.
func nothingPending(t *testing.T, p *harness.Pipeline) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		pending, err := p.Redis.Client(1).XPending(context.Background(), "nemo:events", "nemo-bridge").Result()
		if err != nil {
			return err
		}
		if pending.Count != 0 {
			return fmt.Errorf("%d entries still pending in the consumer group", pending.Count)
		}
		return nil
	})
}
