package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Services whose binaries Build makes.
var Services = []string{"ingest", "router", "publisher", "gateway"}

// RepoRoot is the directory holding go.work.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.work above the working directory")
		}
		dir = parent
	}
}

var built struct {
	once sync.Once
	dir  string
	err  error
}

// BuildRace builds the services from this tree with the race detector, once
// per test process, so that end-to-end runs also check the services for
// data races.
func BuildRace() (string, error) {
	built.once.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			built.err = err
			return
		}
		dir, err := os.MkdirTemp("", "nemo-bridge-bin-")
		if err != nil {
			built.err = err
			return
		}
		for _, s := range Services {
			cmd := exec.Command("go", "build", "-race", "-o", filepath.Join(dir, s), "./services/"+s)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				built.err = fmt.Errorf("build %s: %v\n%s", s, err, out)
				return
			}
		}
		built.dir = dir
	})
	return built.dir, built.err
}

// RemoveBuilt deletes what BuildRace built; a test binary's TestMain calls
// it when all tests are done (the race-built services take over 100 MB).
func RemoveBuilt() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}
