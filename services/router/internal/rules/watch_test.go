package rules

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func rulesFile(topic string) string {
	return "version: 1\nrules:\n  - name: r\n    publish: [{topic: \"" + topic + "\"}]\n"
}

// configMap lays out dir as Kubernetes mounts a ConfigMap: the file is a
// symlink through "..data", itself a symlink to a timestamped directory;
// an update writes a new directory and swaps "..data" in one rename.
type configMap struct {
	t   *testing.T
	dir string
	n   int
}

func (c *configMap) write(content string) {
	c.t.Helper()
	c.n++
	version := filepath.Join(c.dir, "..2025_10_14_18_00_0"+string(rune('0'+c.n)))
	must(c.t, os.Mkdir(version, 0o755))
	must(c.t, os.WriteFile(filepath.Join(version, "rules.yaml"), []byte(content), 0o644))
	tmp := filepath.Join(c.dir, "..data_tmp")
	must(c.t, os.Symlink(filepath.Base(version), tmp))
	must(c.t, os.Rename(tmp, filepath.Join(c.dir, "..data")))
	if c.n == 1 {
		must(c.t, os.Symlink(filepath.Join("..data", "rules.yaml"), filepath.Join(c.dir, "rules.yaml")))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	cm := &configMap{t: t, dir: dir}
	cm.write(rulesFile("v1"))

	loads := make(chan *Set, 10)
	errs := make(chan error, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Watch(ctx, path, 5*time.Millisecond, func(s *Set) { loads <- s }, func(err error) { errs <- err })
	}()
	defer func() { cancel(); <-done }()

	wantLoad := func(step, topic string) {
		t.Helper()
		select {
		case s := <-loads:
			msgs, _, _ := s.Apply(event("t", "{}"), nil)
			if got := msgs[0].GetTopic(); got != topic {
				t.Fatalf("%s: loaded rules publish to %q, want %q", step, got, topic)
			}
		case err := <-errs:
			t.Fatalf("%s: %v", step, err)
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no load", step)
		}
	}
	wantNothing := func(step string) {
		t.Helper()
		select {
		case s := <-loads:
			t.Fatalf("%s: unexpected load of %s", step, s.Version())
		case err := <-errs:
			t.Fatalf("%s: unexpected error %v", step, err)
		case <-time.After(50 * time.Millisecond):
		}
	}

	wantLoad("first read", "v1")
	wantNothing("unchanged")

	// Written in place, through the symlinks.
	must(t, os.WriteFile(path, []byte(rulesFile("v2")), 0o644))
	wantLoad("edited in place", "v2")

	cm.write(rulesFile("v3"))
	wantLoad("ConfigMap update", "v3")

	cm.write(rulesFile("v4") + "    qso: 1\n")
	select {
	case err := <-errs:
		var list *Errors
		if !errors.As(err, &list) || list.List[0].Path != "rules[0].qso" {
			t.Fatalf("broken version: got %v", err)
		}
	case s := <-loads:
		t.Fatalf("broken version loaded as %s", s.Version())
	case <-time.After(5 * time.Second):
		t.Fatal("broken version: no error")
	}
	wantNothing("broken version is reported once")

	// An editor's save: a new file renamed over the old one.
	tmp := filepath.Join(dir, "..data", "rules.yaml.swp")
	must(t, os.WriteFile(tmp, []byte(rulesFile("v5")), 0o644))
	must(t, os.Rename(tmp, filepath.Join(dir, "..data", "rules.yaml")))
	wantLoad("replaced by rename", "v5")

	must(t, os.Remove(filepath.Join(dir, "..data")))
	select {
	case err := <-errs:
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("file gone: got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("file gone: no error")
	}
	wantNothing("a missing file is reported once")
}
