package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// VersionVar is the variable the Makefile's LDFLAGS stamp the version into.
const VersionVar = "github.com/nemo-mqtt-bridge/bridge/services/platform/service.Version"

// buildBinary builds services/<service> of repoRoot on its own, as an
// image build does (GOWORK=off, from its own module, CGO_ENABLED=0,
// -trimpath), for linux/arch, with the version stamped, into dir; it
// returns the binary's path.
func buildBinary(goCmd, repoRoot, service, arch, version, dir string) (string, error) {
	moduleDir := filepath.Join(repoRoot, "services", service)
	if _, err := os.Stat(filepath.Join(moduleDir, "go.mod")); err != nil {
		return "", fmt.Errorf("%s: no module at %s (is -repo-root the repository's root?)", service, moduleDir)
	}
	out, err := filepath.Abs(filepath.Join(dir, service))
	if err != nil {
		return "", err
	}
	cmd := exec.Command(goCmd, "build", "-trimpath",
		"-ldflags", "-s -w -X "+VersionVar+"="+version,
		"-o", out, ".")
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: GOWORK=off CGO_ENABLED=0 GOOS=linux GOARCH=%s go build -trimpath in %s: %v\n%s", service, arch, moduleDir, err, stderr.Bytes())
	}
	return out, nil
}
