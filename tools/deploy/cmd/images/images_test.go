package main

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const fakeCA = "-----BEGIN CERTIFICATE-----\nnot a real one, the test only looks for it\n-----END CERTIFICATE-----\n"

// TestImages builds the four images as `make images` does and opens each
// from the layout and from its tarball.
func TestImages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four binaries")
	}
	repoRoot, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, []byte(fakeCA), 0o644); err != nil {
		t.Fatal(err)
	}
	const version = "v9.8.7-test"
	out := filepath.Join(dir, "images")
	goCmd := "go"
	err = run(config{
		repoRoot: repoRoot, out: out, version: version, revision: "0123abc",
		source: Source, arch: runtime.GOARCH, caFile: caFile, goCmd: goCmd,
		services: Services, created: time.Unix(0, 0).UTC(), log: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}

	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[string]v1.Descriptor{}
	for _, d := range im.Manifests {
		byRef[d.Annotations[RefNameAnnotation]] = d
	}
	if len(im.Manifests) != len(Services) || len(byRef) != len(Services) {
		t.Errorf("the index names %d images (%v), want one per service", len(im.Manifests), byRef)
	}
	for _, svc := range Services {
		t.Run(svc, func(t *testing.T) {
			ref := "nemo-mqtt-bridge/" + svc + ":" + version
			d, ok := byRef[ref]
			if !ok {
				t.Fatalf("no image named %s in the index", ref)
			}
			if d.MediaType != types.OCIManifestSchema1 {
				t.Errorf("media type %s, want an OCI manifest", d.MediaType)
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			checkImage(t, img, svc, version)

			// The tarball holds the same image under the same name.
			tag, err := name.NewTag(ref)
			if err != nil {
				t.Fatal(err)
			}
			tarPath := filepath.Join(out, svc+".tar")
			fromTar, err := tarball.ImageFromPath(tarPath, &tag)
			if err != nil {
				t.Fatalf("%s: %v", tarPath, err)
			}
			want, _ := img.ConfigName()
			if got, err := fromTar.ConfigName(); err != nil || got != want {
				t.Errorf("%s holds config %v (%v), the layout %v", tarPath, got, err, want)
			}
			if tags := repoTags(t, tarPath); !slices.Equal(tags, []string{ref}) {
				t.Errorf("%s is tagged %q, want %q (what docker load and kind load name it)", tarPath, tags, ref)
			}
		})
	}
}

// checkImage checks img's config and the files of its one layer, and runs
// the binary inside with -version.
func checkImage(t *testing.T, img v1.Image, svc, version string) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/" + svc}; !slices.Equal(cf.Config.Entrypoint, want) {
		t.Errorf("entrypoint %q, want %q", cf.Config.Entrypoint, want)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user %q, want 65532:65532 (numeric, not root)", cf.Config.User)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	if !slices.Contains(cf.Config.Env, "SSL_CERT_FILE="+CAPath) {
		t.Errorf("env %q lacks SSL_CERT_FILE=%s", cf.Config.Env, CAPath)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.title":    svc,
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": "0123abc",
		"org.opencontainers.image.source":   Source,
	} {
		if got := cf.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("created %v, want the epoch (no SOURCE_DATE_EPOCH)", cf.Created.Time)
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 1 {
		t.Fatalf("%d layers, want 1 (on an empty base)", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(time.Unix(0, 0)) {
			t.Errorf("%s: mtime %v, want the epoch", h.Name, h.ModTime)
		}
		if h.Name == svc && (h.Mode != 0o755 || h.Uid != UID || h.Gid != UID) {
			t.Errorf("/%s: mode %o owner %d:%d, want 755 owned by %d:%d", svc, h.Mode, h.Uid, h.Gid, UID, UID)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files["/"+h.Name] = body
	}
	if string(files[CAPath]) != fakeCA {
		t.Errorf("%s holds %q, want the -ca-file", CAPath, files[CAPath])
	}
	bin, ok := files["/"+svc]
	if !ok {
		t.Fatalf("no /%s in the layer (files: %v)", svc, keys(files))
	}
	if runtime.GOOS != "linux" {
		t.Skipf("cannot run a linux binary on %s", runtime.GOOS)
	}
	exe := filepath.Join(t.TempDir(), svc)
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-version")
	cmd.Env = []string{} // no Redis, no configuration: -version needs none
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("/%s -version: %v\n%s", svc, err, got)
	}
	want := svc + " " + version + " go"
	if !strings.HasPrefix(string(got), want) || !strings.HasSuffix(strings.TrimSpace(string(got)), "linux/"+runtime.GOARCH) {
		t.Errorf("/%s -version printed %q, want %q... linux/%s", svc, got, want, runtime.GOARCH)
	}
}

// repoTags are the names in a docker-loadable tarball's manifest.json.
func repoTags(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no manifest.json: %v", path, err)
		}
		if h.Name != "manifest.json" {
			continue
		}
		var m []struct{ RepoTags []string }
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, e := range m {
			tags = append(tags, e.RepoTags...)
		}
		return tags
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func testSpec() Spec {
	return Spec{
		Service: "ingest", Binary: []byte("\x7fELF not really"), CACerts: []byte(fakeCA),
		Version: "v1", Revision: "abc", Source: Source, Arch: "arm64", Created: time.Unix(1700000000, 0).UTC(),
	}
}

func TestImageIsReproducible(t *testing.T) {
	a, err := Image(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Image(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("the same inputs gave %s and %s", da, db)
	}
	cf, _ := a.ConfigFile()
	if cf.Architecture != "arm64" || cf.Variant != "v8" || !cf.Created.Time.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("config %s/%s created %v, want arm64/v8 at SOURCE_DATE_EPOCH", cf.Architecture, cf.Variant, cf.Created.Time)
	}
}

func TestMissingCAFileIsNamed(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ca-certificates.crt")
	err := run(config{repoRoot: t.TempDir(), out: t.TempDir(), version: "v1", arch: "amd64", caFile: missing, services: Services})
	if err == nil || !strings.Contains(err.Error(), "no CA certificates at "+missing) {
		t.Errorf("run without a CA file: %v, want it named", err)
	}
}

func TestVersionMustBeATag(t *testing.T) {
	err := run(config{version: "1.0+build", caFile: "/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "cannot be an image tag") {
		t.Errorf("run with version 1.0+build: %v", err)
	}
}

func TestSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if got, err := sourceDateEpoch(); err != nil || !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("sourceDateEpoch() = %v, %v", got, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := sourceDateEpoch(); err == nil {
		t.Error("SOURCE_DATE_EPOCH=yesterday accepted")
	}
}
