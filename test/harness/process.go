package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Process is a server started by the environment. Stop, Kill9 and Start
// may be called in any order, to test crashes and restarts.
type Process struct {
	Name string
	env  *Env
	bin  string
	args []string
	log  string
	// environ is its environment; nil inherits the test's.
	environ []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	exit error
}

// StartProcess runs bin with args, its output appended to <name>.log.
func (e *Env) StartProcess(name, bin string, args ...string) (*Process, error) {
	return e.start(&Process{Name: name, bin: bin, args: args})
}

// start starts p, its output appended to <p.Name>.log in the environment's
// directory, and stops it when the environment closes.
func (e *Env) start(p *Process) (*Process, error) {
	p.env, p.log = e, filepath.Join(e.Dir, p.Name+".log")
	e.addLog(p.log)
	if err := p.Start(); err != nil {
		return nil, err
	}
	e.onClose(func() { p.Stop() })
	return p, nil
}

// Start starts the process again after Stop or Kill9.
func (p *Process) Start() error {
	log, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.environ
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.exit = cmd, done, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		log.Close()
		p.mu.Lock()
		p.exit = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// PID of the running process.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Running reports whether the process is up: started and not exited
// since, for a test that checks a service neither crashed nor gave up.
func (p *Process) Running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Stop sends SIGTERM and waits (SIGKILL after 20 s); it returns the exit
// error, nil for exit code 0.
func (p *Process) Stop() error {
	return p.signal(syscall.SIGTERM, 20*time.Second)
}

// Kill9 kills the process the hard way, as a crash would.
func (p *Process) Kill9() {
	_ = p.signal(syscall.SIGKILL, 10*time.Second)
}

func (p *Process) signal(sig syscall.Signal, wait time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	select {
	case <-done:
		return p.exitErr()
	default:
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-done
		return errors.New(p.Name + " did not stop in time and was killed")
	}
	return p.exitErr()
}

func (p *Process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exit
}

// SetFlag changes the value given to flag (e.g. "-publisher-addr") for
// the next Start, as a changed configuration does at a restart.
func (p *Process) SetFlag(flag, value string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; i+1 < len(p.args); i++ {
		if p.args[i] == flag {
			p.args[i+1] = value
			return
		}
	}
	p.args = append(p.args, flag, value)
}
