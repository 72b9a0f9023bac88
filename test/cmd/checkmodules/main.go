// Command checkmodules fails when two modules of the workspace require
// different versions of one module path. Every module listed in go.work is
// built together, so a dependency pinned at two versions means each module,
// built on its own (GOWORK=off, as `go install` and Docker builds do), runs
// with a different version than the one the workspace tests. tools/ is not
// in go.work and is not checked: it pins buf's dependencies on purpose.
//
// Usage, from the repository root: go run ./test/cmd/checkmodules [-work go.work]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// module is what one go.mod requires: module path to version.
type module struct {
	file     string // the go.mod, as a path relative to the workspace root
	requires map[string]string
}

// conflict is one module path that the workspace's go.mod files require at
// more than one version.
type conflict struct {
	path string
	// pinnedBy maps each version to the go.mod files that require it.
	pinnedBy map[string][]string
}

// conflicts returns, sorted by module path, every path that mods require at
// more than one version.
func conflicts(mods []module) []conflict {
	byPath := map[string]map[string][]string{}
	for _, m := range mods {
		for path, version := range m.requires {
			if byPath[path] == nil {
				byPath[path] = map[string][]string{}
			}
			byPath[path][version] = append(byPath[path][version], m.file)
		}
	}
	var out []conflict
	for path, versions := range byPath {
		if len(versions) < 2 {
			continue
		}
		for _, files := range versions {
			sort.Strings(files)
		}
		out = append(out, conflict{path: path, pinnedBy: versions})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// String names the module path, each version (lowest first) and the go.mod
// files that pin it.
func (c conflict) String() string {
	versions := make([]string, 0, len(c.pinnedBy))
	for v := range c.pinnedBy {
		versions = append(versions, v)
	}
	sort.Slice(versions, func(i, j int) bool {
		if d := semver.Compare(versions[i], versions[j]); d != 0 {
			return d < 0
		}
		return versions[i] < versions[j]
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%s is required at %d versions:", c.path, len(versions))
	for _, v := range versions {
		fmt.Fprintf(&b, "\n\t%s in %s", v, strings.Join(c.pinnedBy[v], ", "))
	}
	return b.String()
}

// load reads go.work and the go.mod of every module it uses.
func load(workFile string) ([]module, error) {
	data, err := os.ReadFile(workFile)
	if err != nil {
		return nil, err
	}
	work, err := modfile.ParseWork(workFile, data, nil)
	if err != nil {
		return nil, err
	}
	root := filepath.Dir(workFile)
	var mods []module
	for _, use := range work.Use {
		rel := filepath.ToSlash(filepath.Join(use.Path, "go.mod"))
		file := filepath.Join(root, use.Path, "go.mod")
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		f, err := modfile.Parse(file, data, nil)
		if err != nil {
			return nil, err
		}
		m := module{file: rel, requires: map[string]string{}}
		for _, r := range f.Require {
			m.requires[r.Mod.Path] = r.Mod.Version
		}
		mods = append(mods, m)
	}
	return mods, nil
}

func main() {
	workFile := flag.String("work", "go.work", "the workspace file whose modules must agree")
	flag.Parse()
	mods, err := load(*workFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "checkmodules:", err)
		os.Exit(2)
	}
	cs := conflicts(mods)
	if len(cs) == 0 {
		fmt.Printf("checkmodules: %d modules in %s agree on every shared dependency\n", len(mods), *workFile)
		return
	}
	for _, c := range cs {
		fmt.Fprintln(os.Stderr, c)
	}
	fmt.Fprintf(os.Stderr, "checkmodules: %d module path(s) required at different versions across %s; "+
		"align them to one version (go work sync, then GOWORK=off go mod tidy in each module)\n", len(cs), *workFile)
	os.Exit(1)
}
