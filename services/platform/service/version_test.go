package service

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// bindRequired stands for a service's own flags, one of which the
// environment sets wrongly.
func bindRequired(fs *flag.FlagSet) {
	fs.Int("batch", 10, "events per batch")
}

func TestVersionPrintsTheLineAndExitsZero(t *testing.T) {
	old := Version
	Version = "3f3a8a7"
	t.Cleanup(func() { Version = old })
	// A malformed variable must not stop -version: it answers before the
	// configuration is checked.
	t.Setenv("BATCH", "many")
	var stdout, stderr bytes.Buffer
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	code, exit := parseFlags(fs, "ingest", []string{"-version"}, &stdout, &stderr, bindRequired)
	if !exit || code != 0 {
		t.Fatalf("parseFlags(-version) = %d, exit %t; want 0, exit (stderr %q)", code, exit, stderr.String())
	}
	want := fmt.Sprintf("ingest 3f3a8a7 %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if stdout.String() != want {
		t.Errorf("-version printed %q, want %q", stdout.String(), want)
	}
	if stderr.Len() != 0 {
		t.Errorf("-version wrote to stderr: %q", stderr.String())
	}
}

func TestVersionIsNotReadFromTheEnvironment(t *testing.T) {
	t.Setenv("VERSION", "1.2.3") // what an image or a shell may well set
	var stdout, stderr bytes.Buffer
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	code, exit := parseFlags(fs, "router", nil, &stdout, &stderr, bindRequired)
	if exit {
		t.Fatalf("parseFlags without -version exits %d (stdout %q, stderr %q); want it to go on", code, stdout.String(), stderr.String())
	}
	var usage bytes.Buffer
	fs.SetOutput(&usage)
	fs.PrintDefaults()
	if strings.Contains(usage.String(), "$VERSION") {
		t.Errorf("-version's usage names an environment variable:\n%s", usage.String())
	}
	if !strings.Contains(usage.String(), "$BATCH") {
		t.Errorf("a service's own flag lost its environment variable:\n%s", usage.String())
	}
}

func TestConfigurationErrorExitsTwo(t *testing.T) {
	t.Setenv("BATCH", "many")
	var stdout, stderr bytes.Buffer
	fs := flag.NewFlagSet("publisher", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	code, exit := parseFlags(fs, "publisher", nil, &stdout, &stderr, bindRequired)
	if !exit || code != 2 {
		t.Fatalf("parseFlags with BATCH=many = %d, exit %t; want 2, exit", code, exit)
	}
	if !strings.Contains(stderr.String(), "publisher: environment variable BATCH (flag -batch)") {
		t.Errorf("stderr = %q, want the variable and the flag named", stderr.String())
	}
}
