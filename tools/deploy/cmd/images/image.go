package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// CAPath is where the images hold the CA certificates, the path Go's
	// crypto/x509 reads first on Linux (and SSL_CERT_FILE names).
	CAPath = "/etc/ssl/certs/ca-certificates.crt"
	// UID is the numeric user (and group) the services run as: not root,
	// and numeric so that Kubernetes' runAsNonRoot can check it without a
	// /etc/passwd in the image (65532 is distroless' "nonroot").
	UID = 65532
	// User is the image's config.User.
	User = "65532:65532"
	// RefNameAnnotation names an image in an OCI layout's index.
	RefNameAnnotation = "org.opencontainers.image.ref.name"
	// Repository prefixes every image name; the Kubernetes manifests use
	// nemo-mqtt-bridge/<service>:<version>.
	Repository = "nemo-mqtt-bridge"
)

// Spec is one image to build from a static Go binary.
type Spec struct {
	Service  string // the binary's name: /<Service>, the entrypoint
	Binary   []byte
	CACerts  []byte // PEM bundle, at CAPath
	Version  string
	Revision string // the commit, may be empty
	Source   string // the repository's URL
	Arch     string // GOARCH; the OS is linux
	Created  time.Time
}

// Ref is the image's name and tag: nemo-mqtt-bridge/<service>:<version>.
func Ref(service, version string) string {
	return Repository + "/" + service + ":" + version
}

// tagChars is what an image tag may hold.
var tagChars = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// Labels are the image's OCI labels.
func Labels(s Spec) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       s.Service,
		"org.opencontainers.image.description": "NEMO to MQTT bridge: " + s.Service,
		"org.opencontainers.image.version":     s.Version,
		"org.opencontainers.image.source":      s.Source,
	}
	if s.Revision != "" {
		l["org.opencontainers.image.revision"] = s.Revision
	}
	return l
}

// Image is s as an OCI image: one layer holding the CA certificates and
// the binary (mode 0755, owned by UID), on nothing else.
func Image(s Spec) (v1.Image, error) {
	if len(s.Binary) == 0 {
		return nil, fmt.Errorf("%s: empty binary", s.Service)
	}
	if len(s.CACerts) == 0 {
		return nil, fmt.Errorf("%s: no CA certificates", s.Service)
	}
	layerTar, err := layerTar(s)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: s.Created},
			CreatedBy: "tools/deploy/cmd/images: " + s.Service + " and the CA certificates",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", s.Arch
	if s.Arch == "arm64" {
		cf.Variant = "v8"
	}
	cf.Created = v1.Time{Time: s.Created}
	cf.Author = ""
	cf.Config.Entrypoint = []string{"/" + s.Service}
	cf.Config.Cmd = nil
	cf.Config.User = User
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"PATH=/", "SSL_CERT_FILE=" + CAPath}
	cf.Config.Labels = Labels(s)
	return mutate.ConfigFile(img, cf)
}

// layerTar is the layer's tar: the directories down to the CA file, the
// CA file, and the binary, every time stamp s.Created.
func layerTar(s Spec) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body []byte) error {
		h.ModTime, h.Format = s.Created, tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	for _, dir := range []string{"etc/", "etc/ssl/", "etc/ssl/certs/"} {
		if err := add(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755}, nil); err != nil {
			return nil, err
		}
	}
	if err := add(&tar.Header{Typeflag: tar.TypeReg, Name: CAPath[1:], Mode: 0o644, Size: int64(len(s.CACerts))}, s.CACerts); err != nil {
		return nil, err
	}
	if err := add(&tar.Header{Typeflag: tar.TypeReg, Name: s.Service, Mode: 0o755, Uid: UID, Gid: UID, Size: int64(len(s.Binary))}, s.Binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// run builds c's binaries and images and writes them to c.out.
func run(c config) error {
	if !tagChars.MatchString(c.version) {
		return fmt.Errorf("version %q cannot be an image tag (letters, digits, '_', '.', '-'; at most 128)", c.version)
	}
	ca, err := os.ReadFile(c.caFile)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no CA certificates at %s: install them (the ca-certificates package) or name a PEM bundle with -ca-file; every image carries them for the services' TLS to Redis and the broker", c.caFile)
	}
	if err != nil {
		return fmt.Errorf("CA certificates: %w", err)
	}
	if len(bytes.TrimSpace(ca)) == 0 {
		return fmt.Errorf("CA certificates: %s is empty", c.caFile)
	}
	binDir, err := os.MkdirTemp("", "images-bin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(binDir)
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	// A fresh layout each time: blobs of an earlier run would pile up.
	for _, f := range []string{"blobs", "index.json", "oci-layout"} {
		if err := os.RemoveAll(filepath.Join(c.out, f)); err != nil {
			return err
		}
	}
	p, err := layout.Write(c.out, empty.Index)
	if err != nil {
		return err
	}
	for _, svc := range c.services {
		start := time.Now()
		binPath, err := buildBinary(c.goCmd, c.repoRoot, svc, c.arch, c.version, binDir)
		if err != nil {
			return err
		}
		bin, err := os.ReadFile(binPath)
		if err != nil {
			return err
		}
		img, err := Image(Spec{
			Service: svc, Binary: bin, CACerts: ca,
			Version: c.version, Revision: c.revision, Source: c.source,
			Arch: c.arch, Created: c.created,
		})
		if err != nil {
			return err
		}
		ref := Ref(svc, c.version)
		if err := appendImage(p, img, ref); err != nil {
			return fmt.Errorf("%s: OCI layout: %w", svc, err)
		}
		tag, err := name.NewTag(ref)
		if err != nil {
			return err
		}
		tarPath := filepath.Join(c.out, svc+".tar")
		if err := tarball.WriteToFile(tarPath, tag, img); err != nil {
			return fmt.Errorf("%s: %s: %w", svc, tarPath, err)
		}
		digest, err := img.Digest()
		if err != nil {
			return err
		}
		size, err := imageSize(img)
		if err != nil {
			return err
		}
		if c.log != nil {
			c.log("%-28s %s %5.1f MB  %s", ref, digest, float64(size)/1e6, time.Since(start).Round(100*time.Millisecond))
		}
	}
	return nil
}

// appendImage writes img's blobs to p and names it ref in p's index, with
// a plain descriptor (AppendImage would add an artifactType, which the
// image spec reserves for artifacts that are not images).
func appendImage(p layout.Path, img v1.Image, ref string) error {
	if err := p.WriteImage(img); err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	size, err := img.Size()
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	return p.AppendDescriptor(v1.Descriptor{
		MediaType: mt, Digest: digest, Size: size,
		Annotations: map[string]string{RefNameAnnotation: ref},
		Platform:    cf.Platform(),
	})
}

// imageSize is the size of img's manifest, config and compressed layers.
func imageSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	size := m.Config.Size
	for _, l := range m.Layers {
		size += l.Size
	}
	raw, err := img.RawManifest()
	return size + int64(len(raw)), err
}
