// Command k8s renders every kustomize overlay under -root/overlays with
// kustomize's Go API (the same code as `kubectl kustomize`) and writes each to
// -out/<overlay>.yaml. It fails naming the overlay when kustomize does.
//
//	GOWORK=off go -C tools/deploy run ./cmd/k8s -root $PWD/deploy/k8s -out $PWD/bin/k8s
//
// The checks of the rendered objects (strict decoding against the Kubernetes
// API types, the API server's value rules, the bridge's invariants) are the
// tests of this package: GOWORK=off go -C tools/deploy test ./cmd/k8s.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	root := flag.String("root", "deploy/k8s", "directory holding overlays/<name>/kustomization.yaml")
	out := flag.String("out", "bin/k8s", "directory the rendered <overlay>.yaml files are written to")
	flag.Parse()
	if err := run(*root, *out); err != nil {
		fmt.Fprintln(os.Stderr, "k8s:", err)
		os.Exit(1)
	}
}

func run(root, out string) error {
	names, err := overlays(root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		y, err := render(filepath.Join(root, "overlays", name))
		if err != nil {
			errs = append(errs, fmt.Errorf("overlay %s: %w", name, err))
			continue
		}
		dst := filepath.Join(out, name+".yaml")
		if err := os.WriteFile(dst, y, 0o644); err != nil {
			errs = append(errs, fmt.Errorf("overlay %s: %w", name, err))
			continue
		}
		fmt.Println("wrote", dst)
	}
	return errors.Join(errs...)
}

// overlays lists the directories of root/overlays that hold a kustomization.
func overlays(root string) ([]string, error) {
	dir := filepath.Join(root, "overlays")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		for _, f := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
			if _, err := os.Stat(filepath.Join(dir, e.Name(), f)); err == nil {
				names = append(names, e.Name())
				break
			}
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no overlay (a directory with a kustomization.yaml) in %s", dir)
	}
	sort.Strings(names)
	return names, nil
}

// render runs kustomize on one overlay directory, as `kubectl kustomize` would
// (default options: load restrictions to the root, no plugins, no helm).
func render(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}
