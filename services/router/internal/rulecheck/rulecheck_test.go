package rulecheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("version: 1\nrules:\n  - name: a\n    publish: [{topic: x}]\n  - name: b\n    publish: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("version: 1\nrules:\n  - name: a\n    publish:\n      - topic: x\n        qso: 1\n  - name: a\n    publish: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		files       []string
		code        int
		out, errOut []string // lines, each a prefix of the line at its place
	}{
		{"good", []string{good}, 0, []string{good + ": ok (version "}, nil},
		{"bad, every mistake", []string{bad}, 1, nil, []string{
			bad + ":6:9: rules[0].publish[0].qso: unknown field",
			bad + ":7:11: rules[1].name: duplicate rule name",
		}},
		{"one bad among good", []string{good, bad, filepath.Join(dir, "missing.yaml")}, 1, []string{good + ": ok"}, []string{bad + ":6:9:", bad + ":7:11:", "open " + dir}},
		{"no files", nil, 2, nil, []string{"usage: router check FILE..."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut strings.Builder
			if code := Run(tc.files, &out, &errOut); code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			checkLines(t, "stdout", out.String(), tc.out)
			checkLines(t, "stderr", errOut.String(), tc.errOut)
		})
	}
}

func TestRunReportsVersionAndRuleCount(t *testing.T) {
	var out strings.Builder
	if code := Run([]string{"../rules/default.yaml"}, &out, &strings.Builder{}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	want := regexp.MustCompile(`^\.\./rules/default\.yaml: ok \(version [0-9a-f]{12}, 1 rules\)\n$`)
	if !want.MatchString(out.String()) {
		t.Errorf("got %q, want it to match %s", out.String(), want)
	}
}

func checkLines(t *testing.T, name, got string, want []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if got == "" {
		lines = nil
	}
	if len(lines) != len(want) {
		t.Fatalf("%s has %d lines, want %d:\n%s", name, len(lines), len(want), got)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("%s line %d = %q, want it to start with %q", name, i+1, lines[i], w)
		}
	}
}
