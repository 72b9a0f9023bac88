package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/cpushare"
)

// The raw MQTT client and the one-process pipeline each run in a process
// of their own, as the bridge's services do, while the measuring
// subscribers stay in this one: this program started again with -child.
// A client that shares the subscriber's process shares its Go scheduler,
// and is spared the wake-ups of a process of its own (the ninth round's
// one-process pipeline drained a third faster there than on its own); the
// bridge's publisher cannot share it.

// childConfig is what a child is given, as JSON in -child.
type childConfig struct {
	Kind         string `json:"kind"` // childRaw, childOneProcess, childEcho or childStreamEcho
	Broker       string `json:"broker"`
	CAFile       string `json:"ca_file,omitempty"`
	QoS          byte   `json:"qos"`
	PayloadBytes int    `json:"payload_bytes"`
	InFlight     int    `json:"in_flight"`
	// The raw client: message i goes to bench/<Name>/<i mod Tools>.
	Name             string `json:"name,omitempty"`
	Tools            int    `json:"tools,omitempty"`
	BridgeProperties bool   `json:"bridge_properties,omitempty"`
	// StampBursts: each message carries when its line of work came in.
	StampBursts bool `json:"stamp_bursts,omitempty"`
	// The one-process pipeline, and the stream echo.
	RedisURL    string `json:"redis_url,omitempty"`
	Stream      string `json:"stream,omitempty"`
	TopicPrefix string `json:"topic_prefix,omitempty"`
	// The echo: the address it connects to.
	EchoAddr string `json:"echo_addr,omitempty"`
}

const (
	childRaw        = "raw"
	childOneProcess = "one-process"
	childEcho       = "echo"
	childStreamEcho = "stream-echo"
)

// childConfigFor is a child's configuration for the workload w.
func childConfigFor(kind string, w workload, inFlight int) childConfig {
	return childConfig{Kind: kind, Broker: w.broker.String(), CAFile: w.caFile, QoS: w.qos, PayloadBytes: w.payloadBytes, InFlight: inFlight, StampBursts: w.stampBursts}
}

// runChild is this program started with -child: it connects, says
// "ready" on its standard output, and works until its standard input
// ends (see runRawChild, runOneProcessChild, runEchoChild,
// runStreamEchoChild) or ctx does.
func runChild(ctx context.Context, config string) error {
	var cfg childConfig
	if err := json.Unmarshal([]byte(config), &cfg); err != nil {
		return fmt.Errorf("-child: %w", err)
	}
	switch cfg.Kind {
	case childEcho:
		return runEchoChild(ctx, cfg)
	case childStreamEcho:
		return runStreamEchoChild(ctx, cfg)
	}
	w := workload{qos: cfg.QoS, payloadBytes: cfg.PayloadBytes, caFile: cfg.CAFile, stampBursts: cfg.StampBursts}
	var err error
	if w.broker, err = url.Parse(cfg.Broker); err != nil {
		return err
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("-child: %s holds no PEM certificate", cfg.CAFile)
		}
		w.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	switch cfg.Kind {
	case childRaw:
		return runRawChild(ctx, cfg, w)
	case childOneProcess:
		return runOneProcessChild(ctx, cfg, w)
	}
	return fmt.Errorf("-child: unknown kind %q", cfg.Kind)
}

// childCPU is the CPU time of the children of one kind, those that ended
// included, in clock ticks: what a cost line reads. running is the child
// at work, nil between children.
type childCPU struct {
	mu      sync.Mutex
	ended   float64
	running *exec.Cmd
}

func (c *childCPU) ticks() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running == nil {
		return c.ended
	}
	return c.ended + cpuTicks(c.running.Process.Pid)
}

// child is a running child, seen from this program.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	cpu    *childCPU
	exited chan error
}

// startChild starts a child with cfg, its CPU time counted in cpu, and
// waits until it is ready.
func startChild(cfg childConfig, cpu *childCPU) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	config, _ := json.Marshal(cfg)
	cmd := exec.Command(self, "-child", string(config))
	cmd.Env = cpushare.Env(os.Environ()) // sized as the bridge's services are
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the %s child: %w", cfg.Kind, err)
	}
	ch := &child{cmd: cmd, stdin: stdin, cpu: cpu, exited: make(chan error, 1)}
	cpu.mu.Lock()
	cpu.running = cmd
	cpu.mu.Unlock()
	ready := make(chan bool, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		ready <- strings.TrimSpace(line) == "ready"
		_, _ = io.Copy(io.Discard, r)
		ch.exited <- ch.wait()
	}()
	select {
	case ok := <-ready:
		if ok {
			return ch, nil
		}
	case <-time.After(15 * time.Second):
	}
	_ = cmd.Process.Kill()
	return nil, fmt.Errorf("the %s child did not get ready: %w", cfg.Kind, <-ch.exited)
}

// wait waits for the process to end and adds its CPU time to cpu.
func (ch *child) wait() error {
	err := ch.cmd.Wait()
	ch.cpu.mu.Lock()
	defer ch.cpu.mu.Unlock()
	if st := ch.cmd.ProcessState; st != nil {
		ch.cpu.ended += (st.UserTime() + st.SystemTime()).Seconds() * 100 // USER_HZ
	}
	ch.cpu.running = nil
	return err
}

// send gives the child a line of work.
func (ch *child) send(line string) error {
	if _, err := io.WriteString(ch.stdin, line+"\n"); err != nil {
		_, exit := ch.ended()
		return fmt.Errorf("the child stopped: %w", errors.Join(err, exit))
	}
	return nil
}

// ended reports whether the child has ended, and its exit error if so.
func (ch *child) ended() (bool, error) {
	select {
	case err := <-ch.exited:
		ch.exited <- err
		return true, err
	default:
		return false, nil
	}
}

// finish ends the child's input and waits until it has done its work
// and stopped.
func (ch *child) finish() error {
	_ = ch.stdin.Close()
	select {
	case err := <-ch.exited:
		return err
	case <-time.After(60 * time.Second):
		_ = ch.cmd.Process.Kill()
		return errors.New("the child did not stop within a minute of its input's end")
	}
}

// readWork calls do with each line of the standard input until it ends
// or ctx does.
func readWork(ctx context.Context, do func(line string) error) error {
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() && ctx.Err() == nil {
		if err := do(lines.Text()); err != nil {
			return err
		}
	}
	return lines.Err()
}
