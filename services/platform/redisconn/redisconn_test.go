package redisconn

import (
	"strings"
	"testing"
)

// A URL that does not parse is refused naming the flag, never repeating the
// URL nor any part of the password in it.
func TestAMistakeIsSaidWithoutTheURL(t *testing.T) {
	for _, raw := range []string{
		"redis://:s3cret-pw@host:port-not-a-number/1",
		// The password's "/" not escaped: go-redis would read "pw@host"
		// as the database number and quote it.
		"redis://:s3cret/pw@host:6379/1",
		"redis://:s3cret-pw@host:6379/one",
		"ftp://:s3cret-pw@host:6379/1",
	} {
		_, err := Options("redis-url", raw, "ingest")
		if err == nil || !strings.Contains(err.Error(), "-redis-url") || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: error %v, want one naming -redis-url without the password", raw, err)
		}
	}
}

// The user name and password in the URL are the ones the client logs in
// with, escaped characters read as meant.
func TestTheURLsLoginIsUsed(t *testing.T) {
	opts, err := Options("redis-url", "redis://bridge:p%40ss%2Fw@127.0.0.1:6390/1", "ingest")
	if err != nil || opts.DB != 1 || opts.Addr != "127.0.0.1:6390" || opts.OnConnect == nil {
		t.Fatalf("a good URL: %+v, %v", opts, err)
	}
	if opts.Username != "bridge" || opts.Password != "p@ss/w" {
		t.Fatalf("login %q / %q, want bridge / p@ss/w", opts.Username, opts.Password)
	}
	opts, err = Options("redis-url", "redis://:pw@127.0.0.1:6390/1", "ingest")
	if err != nil || opts.Username != "" || opts.Password != "pw" {
		t.Fatalf("a password alone: %q / %q, %v", opts.Username, opts.Password, err)
	}
	opts, err = Options("redis-url", "rediss://localhost/2?dial_timeout=3", "ingest")
	if err != nil || opts.Password != "" || opts.TLSConfig == nil || opts.DB != 2 {
		t.Fatalf("no login, TLS: %+v, %v", opts, err)
	}
}
