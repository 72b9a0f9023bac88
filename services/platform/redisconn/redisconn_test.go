package redisconn

import (
	"strings"
	"testing"
)

// A URL that does not parse is refused naming the flag, never repeating the
// URL and the password in it.
func TestAMistakeIsSaidWithoutTheURL(t *testing.T) {
	_, err := Options("redis-url", "redis://:s3cret-pw@host:port-not-a-number/1", "ingest")
	if err == nil || !strings.Contains(err.Error(), "-redis-url") || strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("error %v: want one naming -redis-url without the password", err)
	}
	opts, err := Options("redis-url", "redis://:pw@127.0.0.1:6390/1", "ingest")
	if err != nil || opts.DB != 1 || opts.OnConnect == nil {
		t.Fatalf("a good URL: %+v, %v", opts, err)
	}
}
