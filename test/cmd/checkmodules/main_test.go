package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestConflicts(t *testing.T) {
	mods := []module{
		{file: "gen/go.mod", requires: map[string]string{
			"golang.org/x/net":       "v0.61.0",
			"google.golang.org/grpc": "v1.85.0",
			"gopkg.in/yaml.v3":       "v3.0.1",
		}},
		{file: "services/platform/go.mod", requires: map[string]string{
			"golang.org/x/net":       "v0.60.0",
			"google.golang.org/grpc": "v1.85.0",
		}},
		{file: "services/ingest/go.mod", requires: map[string]string{
			"golang.org/x/net":           "v0.60.0",
			"google.golang.org/protobuf": "v1.36.13-0.20261016172727-e9ee2a76ab8e",
		}},
		{file: "examples/go.mod", requires: map[string]string{
			"google.golang.org/protobuf": "v1.36.12",
		}},
	}
	got := conflicts(mods)
	want := []conflict{
		{path: "golang.org/x/net", pinnedBy: map[string][]string{
			"v0.60.0": {"services/ingest/go.mod", "services/platform/go.mod"},
			"v0.61.0": {"gen/go.mod"},
		}},
		{path: "google.golang.org/protobuf", pinnedBy: map[string][]string{
			"v1.36.12":                               {"examples/go.mod"},
			"v1.36.13-0.20261016172727-e9ee2a76ab8e": {"services/ingest/go.mod"},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("conflicts() = %v\nwant %v", got, want)
	}

	msg := got[0].String()
	for _, s := range []string{"golang.org/x/net", "v0.60.0 in services/ingest/go.mod, services/platform/go.mod", "v0.61.0 in gen/go.mod"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not mention %q", msg, s)
		}
	}
	if strings.Index(msg, "v0.60.0") > strings.Index(msg, "v0.61.0") {
		t.Errorf("message %q does not list the lower version first", msg)
	}
}

func TestConflictsAgreeing(t *testing.T) {
	mods := []module{
		{file: "a/go.mod", requires: map[string]string{"golang.org/x/net": "v0.61.0"}},
		{file: "b/go.mod", requires: map[string]string{"golang.org/x/net": "v0.61.0", "golang.org/x/sys": "v0.49.0"}},
		{file: "c/go.mod", requires: map[string]string{}},
	}
	if got := conflicts(mods); len(got) != 0 {
		t.Fatalf("conflicts() = %v, want none", got)
	}
}
