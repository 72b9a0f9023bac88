package devstack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/backoff"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/cpushare"
)

// child is one of the bridge's services, run as a process and restarted
// when it dies, its output prefixed with its name.
type child struct {
	name string
	bin  string
	args []string
	// secrets are environment variables, NAME=value, that the child reads
	// as its flags: a password or token given as a flag shows in ps to
	// every user of the machine, the environment does not.
	secrets []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// supervise runs the child until ctx ends, restarting it after a crash.
func (c *child) supervise(ctx context.Context, out io.Writer) {
	wait := backoff.New(2*time.Second, 2*time.Second)
	for ctx.Err() == nil {
		started := time.Now()
		err := c.run(out)
		if ctx.Err() != nil {
			return
		}
		fmt.Fprintf(out, "%-9s | exited unexpectedly (%v); restarting\n", c.name, err)
		// A child that ran a while restarts at once; one that dies at
		// start is given a pause rather than a busy loop.
		if time.Since(started) < 5*time.Second {
			_ = backoff.Sleep(ctx, wait.Next()) // the loop sees ctx's end
		}
	}
}

func (c *child) run(out io.Writer) error {
	cmd := exec.Command(filepath.Clean(c.bin), c.args...)
	cmd.Env = cpushare.Env(environ(os.Environ(), c.secrets))
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.done = cmd, done
	c.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintf(out, "%-9s | %s\n", c.name, sc.Text())
		}
	}()
	err := cmd.Wait()
	pw.Close()
	close(done)
	return err
}

// stop sends SIGTERM and waits for the child to finish what it has in
// flight.
func (c *child) stop() {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
	}
}

// environ is inherited with secrets set: any NAME, or NAME_FILE, that
// secrets sets is dropped from inherited first, so that the child reads
// devstack's value and not also one it inherited (giving both a secret and
// its file is refused).
func environ(inherited, secrets []string) []string {
	set := map[string]bool{}
	for _, kv := range secrets {
		name, _, _ := strings.Cut(kv, "=")
		set[name], set[name+"_FILE"] = true, true
	}
	var env []string
	for _, kv := range inherited {
		if name, _, _ := strings.Cut(kv, "="); !set[name] {
			env = append(env, kv)
		}
	}
	return append(env, secrets...)
}

// binary checks that a service was built.
func binary(dir, name string) (string, error) {
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s not found in %s: run `make build` first (make run does)", name, dir)
	}
	return path, nil
}
