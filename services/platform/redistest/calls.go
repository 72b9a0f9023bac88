package redistest

import (
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
)

var commandStat = regexp.MustCompile(`(?m)^cmdstat_([^:]+):calls=(\d+)`)

// Calls is how many times Redis has run each command so far (lower case,
// as INFO commandstats names them; a command never run is absent): a test
// counts round trips and script work in Redis's own statistics.
func Calls(t testing.TB, rdb *redis.Client) map[string]int {
	t.Helper()
	stats, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatalf("INFO commandstats: %v", err)
	}
	calls := map[string]int{}
	for _, m := range commandStat.FindAllStringSubmatch(stats, -1) {
		calls[m[1]], _ = strconv.Atoi(m[2])
	}
	return calls
}
