package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// services are the bridge's binaries that run in the cluster (devstack does
// not), each built from ./services/<svc> and shipped as the image
// nemo-mqtt-bridge/<svc>:<tag> (what `make images` writes).
var services = []string{"ingest", "router", "publisher", "gateway"}

// binary is what one service's `-h` says it accepts.
type binary struct {
	flags    map[string]bool   // flag name -> takes a value (not a bool flag)
	envs     map[string]bool   // the [$ENV] twins
	envFlag  map[string]string // [$ENV] twin -> its flag
	defaults map[string]string // flag name -> "(default X)" from the help text
}

var (
	bridgeOnce sync.Once
	bridgeBins map[string]*binary
	bridgeErr  error
)

// repoRoot is the directory holding go.work, above this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := findRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.work above %s", dir)
		}
	}
}

// bridgeBinaries builds the four services once per test run (in the
// workspace: the command runs without GOWORK=off, which `make` sets for this
// module) and reads each one's `-h`.
func bridgeBinaries(t testing.TB) map[string]*binary {
	t.Helper()
	bridgeOnce.Do(func() {
		root, err := findRepoRoot()
		if err != nil {
			bridgeErr = err
			return
		}
		// A temporary directory rather than the repository's tmp/, which
		// .gitignore does not cover.
		dir, err := os.MkdirTemp("", "k8s-bridge-bins-")
		if err != nil {
			bridgeErr = err
			return
		}
		defer os.RemoveAll(dir)
		args := []string{"build", "-o", dir + string(filepath.Separator)}
		for _, s := range services {
			args = append(args, "./services/"+s)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GOWORK=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			bridgeErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		bridgeBins = map[string]*binary{}
		for _, s := range services {
			out, _ := exec.Command(filepath.Join(dir, s), "-h").CombinedOutput() // -h exits non-zero with the flag package
			b := parseHelp(out)
			if len(b.flags) == 0 {
				bridgeErr = fmt.Errorf("%s -h listed no flag:\n%s", s, out)
				return
			}
			bridgeBins[s] = b
		}
	})
	if bridgeErr != nil {
		t.Fatal(bridgeErr)
	}
	return bridgeBins
}

var (
	helpFlagLine = regexp.MustCompile(`^\s+-([A-Za-z0-9][A-Za-z0-9_.-]*)(?:\s+(\S+))?\s*$`)
	helpEnvs     = regexp.MustCompile(`\[(\$[^\]]+)\]`)
	helpEnvName  = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`)
	helpDefault  = regexp.MustCompile(`\(default "?([^")]*)"?\)\s*$`)
)

// parseHelp reads the flag package's usage output: "  -name type" (no type
// for a bool flag), then the description indented by a tab, which holds the
// "[$ENV]" twin and "(default X)".
func parseHelp(out []byte) *binary {
	b := &binary{flags: map[string]bool{}, envs: map[string]bool{}, envFlag: map[string]string{}, defaults: map[string]string{}}
	var cur string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := helpFlagLine.FindStringSubmatch(line); m != nil && strings.HasPrefix(line, "  -") {
			cur = m[1]
			b.flags[cur] = m[2] != ""
			continue
		}
		if cur == "" {
			continue
		}
		for _, e := range helpEnvs.FindAllStringSubmatch(line, -1) {
			for _, n := range helpEnvName.FindAllStringSubmatch(e[1], -1) {
				b.envs[n[1]] = true
				b.envFlag[n[1]] = cur
			}
		}
		if m := helpDefault.FindStringSubmatch(line); m != nil {
			b.defaults[cur] = m[1]
		}
	}
	return b
}

func TestParseHelp(t *testing.T) {
	b := parseHelp([]byte("Usage of x:\n  -grpc-insecure\n    \tallow [$GRPC_INSECURE]\n  -shutdown-timeout duration\n    \thow long [$SHUTDOWN_TIMEOUT] (default 10s)\n  -redis-url-file file\n    \tread [$REDIS_URL_FILE]\n"))
	if b.flags["grpc-insecure"] || !b.flags["shutdown-timeout"] || !b.flags["redis-url-file"] {
		t.Errorf("flags: %v", b.flags)
	}
	if !b.envs["GRPC_INSECURE"] || !b.envs["SHUTDOWN_TIMEOUT"] || b.envFlag["REDIS_URL_FILE"] != "redis-url-file" {
		t.Errorf("envs: %v", b.envs)
	}
	if d, _ := time.ParseDuration(b.defaults["shutdown-timeout"]); d != 10*time.Second {
		t.Errorf("defaults: %v", b.defaults)
	}
}

// documentedSecrets reads the operator-provided Secrets from root/README.md
// and root/SECRETS.md: every Markdown table row whose first cell starts with
// a name in backticks (a remark may follow it), with the keys it holds in
// backticks in the second cell (none, as in "as above": keys unknown), as in
//
//	| Secret | Keys | Used by |
//	|---|---|---|
//	| `nemo-bridge-redis` | `url` | every service |
//	| `nemo-bridge-signing-key` (optional) | `key` | router |
//
// A name with a <placeholder> is skipped; a first cell that starts otherwise ("dev only: `x`") documents no
// operator-provided Secret.
func documentedSecrets(root string) (map[string][]string, error) {
	names := map[string][]string{}
	keyRe := regexp.MustCompile("`([^`]+)`")
	cell := regexp.MustCompile("^`([^`]+)`")
	for _, f := range []string{"README.md", "SECRETS.md"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "|") {
				continue
			}
			cells := strings.Split(strings.TrimPrefix(line, "|"), "|")
			if m := cell.FindStringSubmatch(strings.TrimSpace(cells[0])); m != nil {
				if strings.Contains(m[1], "<") {
					continue // a pattern such as nemo-bridge-<service>-tls, not a name
				}
				if errs := validation.IsDNS1123Subdomain(m[1]); len(errs) > 0 {
					return nil, fmt.Errorf("%s: Secret %q: %s", f, m[1], strings.Join(errs, "; "))
				}
				var keys []string
				if len(cells) > 1 {
					for _, k := range keyRe.FindAllStringSubmatch(cells[1], -1) {
						keys = append(keys, k[1])
					}
				}
				if _, seen := names[m[1]]; !seen || len(names[m[1]]) == 0 {
					names[m[1]] = keys
				}
			}
		}
	}
	return names, nil
}

func TestDocumentedSecrets(t *testing.T) {
	dir := t.TempDir()
	md := "| Secret | keys |\n|---|---|\n| `a-secret` | `url` |\n| `b-secret` (optional) | `key` |\n| dev only: `c-secret` | x |\n| `d-<service>-tls` | x |\n| plain | x |\n"
	if err := os.WriteFile(filepath.Join(dir, "SECRETS.md"), []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := documentedSecrets(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !slices.Equal(got["a-secret"], []string{"url"}) || !slices.Equal(got["b-secret"], []string{"key"}) {
		t.Errorf("got %v, want a-secret and b-secret", got)
	}
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("| `Bad_Name` | x |\n"), 0o644)
	if _, err := documentedSecrets(dir); err == nil {
		t.Error("an invalid Secret name in the table was accepted")
	}
}
