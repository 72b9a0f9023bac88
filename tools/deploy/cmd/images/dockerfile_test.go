package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// stage is one FROM of the Dockerfile and what it sets.
type stage struct {
	base, name string
	user       string
	entrypoint []string
	labels     map[string]string
	copies     [][]string // [from, src, dst]
	runs       []string
}

// parseDockerfile reads the repository's Dockerfile with BuildKit's own
// parser; global holds the ARGs before the first FROM.
func parseDockerfile(t *testing.T) (global []string, stages []*stage) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	var cur *stage
	for _, n := range res.AST.Children {
		var args []string
		for a := n.Next; a != nil; a = a.Next {
			args = append(args, a.Value)
		}
		instr := strings.ToUpper(n.Value)
		if instr == "FROM" {
			cur = &stage{base: args[0], labels: map[string]string{}}
			if len(args) == 3 && strings.EqualFold(args[1], "AS") {
				cur.name = args[2]
			}
			stages = append(stages, cur)
			continue
		}
		if cur == nil {
			if instr == "ARG" {
				global = append(global, args...)
			}
			continue
		}
		switch instr {
		case "USER":
			cur.user = args[0]
		case "ENTRYPOINT":
			if !n.Attributes["json"] {
				t.Errorf("line %d: ENTRYPOINT in shell form needs a shell, which the image has not", n.StartLine)
			}
			cur.entrypoint = args
		case "LABEL":
			for i := 0; i+1 < len(args); i += 3 {
				cur.labels[args[i]] = strings.Trim(args[i+1], `"`)
			}
		case "COPY":
			from := ""
			for _, fl := range n.Flags {
				if v, ok := strings.CutPrefix(fl, "--from="); ok {
					from = v
				}
			}
			cur.copies = append(cur.copies, append([]string{from}, args...))
		case "RUN":
			cur.runs = append(cur.runs, strings.Join(args, " "))
		}
	}
	return global, stages
}

// chain is the stage named name and the stages it builds on, nearest
// first, ending with the one whose base is an image, not a stage.
func chain(t *testing.T, stages []*stage, name string) []*stage {
	t.Helper()
	var out []*stage
	for len(out) <= len(stages) {
		i := slices.IndexFunc(stages, func(s *stage) bool { return s.name == name })
		if i < 0 {
			return out
		}
		out = append(out, stages[i])
		name = stages[i].base
	}
	t.Fatalf("stage %s builds on itself", name)
	return nil
}

func TestDockerfileBuildsWhatMakeImagesBuilds(t *testing.T) {
	global, stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a multi-stage build", len(stages))
	}
	if !slices.Contains(global, "SERVICE") {
		t.Errorf("no global ARG SERVICE (have %q)", global)
	}
	final := stages[len(stages)-1]
	if final.base != "${SERVICE}" && final.base != "$SERVICE" && final.base != "scratch" {
		t.Errorf("final stage FROM %s, want scratch or the stage ${SERVICE} names", final.base)
	}
	for _, svc := range Services {
		t.Run(svc, func(t *testing.T) {
			name := strings.NewReplacer("${SERVICE}", svc, "$SERVICE", svc).Replace(final.base)
			c := append([]*stage{final}, chain(t, stages, name)...)
			if len(c) < 2 && final.base != "scratch" {
				t.Fatalf("--build-arg SERVICE=%s: no stage named %s", svc, name)
			}
			if root := c[len(c)-1]; root.base != "scratch" {
				t.Errorf("the image builds on %s, want FROM scratch", root.base)
			}
			var user string
			var entrypoint []string
			labels := map[string]string{}
			for i := len(c) - 1; i >= 0; i-- { // the base first, as Docker applies them
				if c[i].user != "" {
					user = c[i].user
				}
				if c[i].entrypoint != nil {
					entrypoint = c[i].entrypoint
				}
				for k, v := range c[i].labels {
					labels[k] = v
				}
			}
			if user != User {
				t.Errorf("USER %q, want %q as make images sets", user, User)
			}
			uid, _, _ := strings.Cut(user, ":")
			if n, err := strconv.Atoi(uid); err != nil || n == 0 {
				t.Errorf("USER %q: want a numeric uid that is not root", user)
			}
			if want := []string{"/" + svc}; !slices.Equal(entrypoint, want) {
				t.Errorf("ENTRYPOINT %q, want %q", entrypoint, want)
			}
			for k := range Labels(Spec{Service: svc, Revision: "r"}) {
				if _, ok := labels[k]; !ok {
					t.Errorf("no LABEL %s, which make images sets", k)
				}
			}
			if labels["org.opencontainers.image.source"] != Source {
				t.Errorf("source label %q, want %q", labels["org.opencontainers.image.source"], Source)
			}
			if labels["org.opencontainers.image.title"] != svc {
				t.Errorf("title label %q, want %q", labels["org.opencontainers.image.title"], svc)
			}

			// The binary comes from a stage whose go build matches
			// buildBinary's: from the service's module, on its own.
			var bin []string
			var ca bool
			for _, s := range c {
				for _, cp := range s.copies {
					if cp[len(cp)-1] == "/"+svc {
						bin = cp
					}
					if cp[len(cp)-1] == CAPath {
						ca = true
					}
				}
			}
			if !ca {
				t.Errorf("no COPY of the CA certificates to %s", CAPath)
			}
			if bin == nil {
				t.Fatalf("no COPY of the binary to /%s", svc)
			}
			var build string
			for _, s := range chain(t, stages, bin[0]) {
				for _, r := range s.runs {
					if strings.Contains(r, "go build") {
						build = r
					}
				}
			}
			for _, want := range []string{"GOWORK=off", "CGO_ENABLED=0", "-trimpath", "services/" + svc, "-o " + bin[1]} {
				if !strings.Contains(build, want) {
					t.Errorf("go build of stage %s lacks %q: %q", bin[0], want, build)
				}
			}
		})
	}
	// The builder is a pinned Go release, the one go.mod's toolchain allows.
	builder := regexp.MustCompile(`^golang:1\.\d+\.\d+`)
	if !slices.ContainsFunc(stages, func(s *stage) bool { return builder.MatchString(s.base) }) {
		t.Errorf("no build stage FROM a pinned golang:1.X.Y image")
	}
}
