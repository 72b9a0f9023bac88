package envflag

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestEnvironmentFillsFlagsNotGiven(t *testing.T) {
	t.Setenv("REDIS_URL", "redis://env:6379/1")
	t.Setenv("BATCH_SIZE", "64")
	t.Setenv("ACK_TIMEOUT", "3s")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	url := fs.String("redis-url", "redis://default", "")
	batch := fs.Int("batch-size", 1, "")
	timeout := fs.Duration("ack-timeout", time.Second, "")
	if err := Parse(fs, []string{"-batch-size=8"}); err != nil {
		t.Fatal(err)
	}
	if *url != "redis://env:6379/1" {
		t.Errorf("redis-url = %q, want the environment's value", *url)
	}
	if *batch != 8 {
		t.Errorf("batch-size = %d, want the command line's 8 over the environment's 64", *batch)
	}
	if *timeout != 3*time.Second {
		t.Errorf("ack-timeout = %v, want 3s", *timeout)
	}
}

func TestMalformedEnvironmentValueNamesVariableAndFlag(t *testing.T) {
	t.Setenv("BATCH_SIZE", "many")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("batch-size", 1, "")
	err := Parse(fs, nil)
	if err == nil || !strings.Contains(err.Error(), "BATCH_SIZE") || !strings.Contains(err.Error(), "-batch-size") {
		t.Fatalf("err = %v, want it to name BATCH_SIZE and -batch-size", err)
	}
}

func TestUsageMayNameAnotherVariable(t *testing.T) {
	t.Setenv("RULES_FILE", "/etc/bridge/rules.yaml")
	t.Setenv("RULES", "/wrong")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	rules := fs.String("rules", "", "rules file [$RULES_FILE]")
	if err := Parse(fs, nil); err != nil {
		t.Fatal(err)
	}
	if *rules != "/etc/bridge/rules.yaml" {
		t.Errorf("rules = %q, want RULES_FILE's value", *rules)
	}
	if u := fs.Lookup("rules").Usage; u != "rules file [$RULES_FILE]" {
		t.Errorf("usage = %q, want it unchanged", u)
	}
}
