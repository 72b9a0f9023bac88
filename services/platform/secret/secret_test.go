package secret

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/envflag"
)

func parse(t *testing.T, args ...string) (string, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var value string
	Var(fs, &value, "redis-url", "redis://localhost:6379/1", "the Redis")
	err := envflag.Parse(fs, args)
	return value, err
}

func write(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestASecretComesFromTheFlagOrItsFile(t *testing.T) {
	if v, err := parse(t); err != nil || v != "redis://localhost:6379/1" {
		t.Fatalf("nothing given: %q, %v; want the default", v, err)
	}
	if v, err := parse(t, "-redis-url", "redis://:pw@host/1"); err != nil || v != "redis://:pw@host/1" {
		t.Fatalf("-redis-url: %q, %v", v, err)
	}
	// The line ending an editor adds is not part of it.
	if v, err := parse(t, "-redis-url-file", write(t, "redis://:pw@host/1\r\n")); err != nil || v != "redis://:pw@host/1" {
		t.Fatalf("-redis-url-file: %q, %v", v, err)
	}
	t.Setenv("REDIS_URL_FILE", write(t, "redis://:env-pw@host/2\n"))
	if v, err := parse(t); err != nil || v != "redis://:env-pw@host/2" {
		t.Fatalf("REDIS_URL_FILE: %q, %v", v, err)
	}
}

func TestASecretGivenTwiceOrFromABadFileIsRefusedWithoutQuotingIt(t *testing.T) {
	path := write(t, "redis://:from-file-pw@host/1\n")
	for name, args := range map[string][]string{
		"flag then file": {"-redis-url", "redis://:flag-pw@host/1", "-redis-url-file", path},
		"file then flag": {"-redis-url-file", path, "-redis-url", "redis://:flag-pw@host/1"},
	} {
		_, err := parse(t, args...)
		if err == nil || !strings.Contains(err.Error(), "both given") {
			t.Errorf("%s: %v, want both refused", name, err)
			continue
		}
		if strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: the error quotes the secret: %v", name, err)
		}
	}
	// The environment counts as given too.
	t.Setenv("REDIS_URL", "redis://:env-pw@host/1")
	if _, err := parse(t, "-redis-url-file", path); err == nil || !strings.Contains(err.Error(), "both given") || strings.Contains(err.Error(), "pw") {
		t.Errorf("REDIS_URL and -redis-url-file: %v, want both refused without the secret", err)
	}
	if _, err := parse(t, "-redis-url-file", write(t, "\n")); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("an empty file: %v, want it refused as empty", err)
	}
	if _, err := parse(t, "-redis-url-file", filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing file: %v", err)
	}
}

// The usage shows the default, and the flag's value is never the secret
// (flag quotes String in messages).
func TestTheFlagNeverShowsTheSecret(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var token string
	Var(fs, &token, "admin-token", "", "the token")
	if err := fs.Parse([]string{"-admin-token", "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if got := fs.Lookup("admin-token").Value.String(); got != "" {
		t.Fatalf("the flag's value shows as %q", got)
	}
}

func TestParseURLNeverQuotesTheLogin(t *testing.T) {
	for _, tt := range []struct {
		raw, password string
		ok            bool
	}{
		{"redis://:pa55word@host:6379/1", "pa55word", true},
		{"mqtt://bridge:pa%2Fss@broker:1883", "pa/ss", true},
		{"redis://user:p%40ss@[::1]:6379/2", "p@ss", true},
		{"redis://host:6379/1", "", true},
		// A reserved character left as it is: the URL reads otherwise.
		{"redis://:pa/ss@host:6379/1", "pa/ss", false},
		{"redis://:12/zq9x@host:6379/1", "12/zq9x", false},
		{"redis://:pa#ss@host:6379/1", "pa#ss", false},
		{"redis://:pa?ss@host:6379/1", "pa?ss", false},
		{"mqtt://user:p%zzq9x@broker", "p%zzq9x", false},
		{"redis://:secret-pw@host:port-x/1", "secret-pw", false},
		{"user:secret-pw@host:6379", "secret-pw", false},
		{"redis://:secret-pw@ho st:6379", "secret-pw", false},
	} {
		u, err := ParseURL(tt.raw)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok %v", tt.raw, err, tt.ok)
			continue
		}
		if err != nil {
			for i := 0; i+3 <= len(tt.password); i++ {
				if part := tt.password[i : i+3]; strings.Contains(err.Error(), part) {
					t.Errorf("%s: the error %q quotes %q of the password", tt.raw, err, part)
				}
			}
			continue
		}
		if got, _ := u.User.Password(); got != tt.password {
			t.Errorf("%s: password %q, want %q", tt.raw, got, tt.password)
		}
	}
}
