// Package pluginlist knows the Redis list the NEMO plugin pushes its events
// to: the names it has had, and how to notice, from Redis alone, NEMO
// writing to a list under another name than the one the bridge reads.
package pluginlist

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The names the NEMO plugin has pushed its events to: today's, and the one
// of older versions.
const (
	Name      = "nemo_mqtt_events"
	OlderName = "NEMO_mqtt_events"
)

// KnownNames are every name the plugin has used, today's first.
var KnownNames = []string{Name, OlderName}

// Setting is the environment variable naming the list, for ingest and the
// gateway (their flag -list) and for `make run`.
const Setting = "LIST_KEY"

// Elsewhere is a list under another name the plugin has used that holds
// entries while the list the bridge reads is empty.
type Elsewhere struct {
	List    string
	Entries int64
}

// EventsElsewhere returns, when list is empty, the plugin's other names
// (KnownNames) under which a list holds entries: NEMO may be writing there.
// A key of another type under such a name is no list of NEMO's and is left
// out.
func EventsElsewhere(ctx context.Context, rdb *redis.Client, list string) ([]Elsewhere, error) {
	pipe := rdb.Pipeline()
	ours := pipe.LLen(ctx, list)
	others := map[string]*redis.IntCmd{}
	for _, name := range KnownNames {
		if name != list {
			others[name] = pipe.LLen(ctx, name)
		}
	}
	// Each command's own error is looked at below: WRONGTYPE on one name
	// says nothing about the others.
	_, _ = pipe.Exec(ctx)
	if n, err := ours.Result(); err != nil || n > 0 {
		return nil, notWrongType(err) // not empty, or no list: reading it says so already
	}
	var out []Elsewhere
	for _, name := range KnownNames {
		cmd := others[name]
		if cmd == nil {
			continue
		}
		if err := notWrongType(cmd.Err()); err != nil {
			return nil, err
		}
		if cmd.Val() > 0 {
			out = append(out, Elsewhere{List: name, Entries: cmd.Val()})
		}
	}
	return out, nil
}

// notWrongType is err unless it says the key is not a list.
func notWrongType(err error) error {
	if err != nil && strings.HasPrefix(err.Error(), "WRONGTYPE") {
		return nil
	}
	return err
}

// Warning is what was found, in words.
type Warning struct {
	// Code is a stable name, for tools: CodeEventsElsewhere.
	Code string
	// Summary says what is wrong and what to do, for a lab manager.
	Summary string
	// Detail is for whoever fixes it.
	Detail string
}

const CodeEventsElsewhere = "events_in_other_list"

// ElsewhereWarning says that list is empty while e holds entries.
func ElsewhereWarning(list string, db int, e Elsewhere) Warning {
	return Warning{
		Code: CodeEventsElsewhere,
		Summary: fmt.Sprintf("The bridge reads NEMO's events from the Redis list %s, which is empty, but the list %s holds %d %s: NEMO may be writing there (older versions of the NEMO plugin use that name). If so, set %s=%s for ingest and the gateway (their flag -list) and restart them; if those entries are old, delete that list.",
			list, e.List, e.Entries, plural(e.Entries, "entry", "entries"), Setting, e.List),
		Detail: fmt.Sprintf("in database %d: LLEN %s = 0, LLEN %s = %d", db, list, e.List, e.Entries),
	}
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
