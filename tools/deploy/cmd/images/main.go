// Command images builds one OCI image per service of the bridge without a
// container engine or a network, the way ko does: each service's static
// binary (GOWORK=off, CGO_ENABLED=0, -trimpath, its version stamped as the
// Makefile does) on an empty base with the build machine's CA
// certificates, run as a numeric non-root user.
//
// It writes an OCI image layout holding every image, each named
// nemo-mqtt-bridge/<service>:<version> in the index (annotation
// org.opencontainers.image.ref.name), and next to it <service>.tar, a
// tarball that `docker load` and `kind load image-archive` take.
//
// Usage, as `make images` runs it:
//
//	GOWORK=off go -C tools/deploy run ./cmd/images -repo-root "$PWD" -out "$PWD/bin/images" -version "$(git describe --always --dirty)"
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Services are the services that get an image; devstack is `make run`
// and has none.
var Services = []string{"ingest", "router", "publisher", "gateway"}

// Source is the repository the images are built from, for the
// org.opencontainers.image.source label.
const Source = "https://github.com/nemo-mqtt-bridge/bridge"

// config is what one run builds.
type config struct {
	repoRoot string
	out      string
	version  string
	revision string
	source   string
	arch     string
	caFile   string
	goCmd    string
	services []string
	created  time.Time
	log      func(format string, args ...any)
}

func main() {
	var c config
	var services string
	flag.StringVar(&c.repoRoot, "repo-root", "../..", "the repository's root (holding services/)")
	flag.StringVar(&c.out, "out", "", "directory of the OCI image layout and the tarballs (default <repo-root>/bin/images)")
	flag.StringVar(&c.version, "version", "dev", "the version stamped into the binaries, the image tag and the version label")
	flag.StringVar(&c.revision, "revision", "", "the commit for the revision label (default: git rev-parse HEAD in -repo-root, if it answers)")
	flag.StringVar(&c.source, "source", Source, "the source repository label")
	flag.StringVar(&c.arch, "arch", "amd64", "GOARCH of the binaries and the images (the OS is linux)")
	flag.StringVar(&c.caFile, "ca-file", "/etc/ssl/certs/ca-certificates.crt", "the CA certificates bundle to copy into every image")
	flag.StringVar(&c.goCmd, "go", "go", "the go command that builds the binaries")
	flag.StringVar(&services, "services", strings.Join(Services, ","), "comma-separated services to build")
	flag.Parse()
	if c.out == "" {
		c.out = filepath.Join(c.repoRoot, "bin", "images")
	}
	c.services = strings.Split(services, ",")
	if c.revision == "" {
		c.revision = gitRevision(c.repoRoot)
	}
	var err error
	if c.created, err = sourceDateEpoch(); err != nil {
		fmt.Fprintf(os.Stderr, "images: %v\n", err)
		os.Exit(2)
	}
	c.log = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "images: %v\n", err)
		os.Exit(1)
	}
}

// sourceDateEpoch is the time stamped on every file and on the image
// config: $SOURCE_DATE_EPOCH (seconds since 1970), else the epoch itself,
// so that the same sources give the same image digests.
func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// gitRevision is the commit checked out in dir, or "" outside a git
// checkout.
func gitRevision(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
