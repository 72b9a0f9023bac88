// Package pluginlist knows the Redis list the NEMO plugin pushes its events
// to: the names it has had, and how to notice, from Redis alone, the two
// ways a bridge reading it misses events although every hop works: another
// program popping the list (the plugin's own MQTT bridge, left on), and
// NEMO writing to a list under another name than the one the bridge reads.
// Ingest says in its log what it finds; the gateway shows it on the page.
package pluginlist

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/redisconn"
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

// TurnOffPluginBridge says how a lab stops the plugin's own bridge, in the
// words of the plugin's settings page. Unchecking the box stops only that
// bridge: the plugin's signal handlers push the events to Redis either way.
const TurnOffPluginBridge = `in NEMO, open Customization, then "MQTT Plugin", uncheck "Enable MQTT" and save. NEMO still writes its events to Redis; only the plugin's own bridge stops`

// Consumer is a Redis client, not one of the bridge's, that takes entries
// from a list in the database the bridge reads.
type Consumer struct {
	Addr string // where it connects from
	Name string // its CLIENT SETNAME; the plugin sets none
	Cmd  string // its last command, e.g. "blpop"
	// Blocked is true while it waits in that command for an entry.
	Blocked bool
}

func (c Consumer) String() string {
	name := "no name"
	if c.Name != "" {
		name = "name " + strconv.Quote(c.Name)
	}
	state := "last command " + c.Cmd
	if c.Blocked {
		state = "waiting in " + c.Cmd
	}
	return fmt.Sprintf("Redis client %s (%s), %s", c.Addr, name, state)
}

// popCommands take entries from a list. CLIENT LIST names the command, not
// its key: a client popping any list of the database is reported, which is
// why the warnings say "most likely".
var popCommands = map[string]bool{
	"blpop": true, "brpop": true, "blmove": true, "brpoplpush": true, "blmpop": true,
	"lpop": true, "rpop": true, "lmove": true, "rpoplpush": true, "lmpop": true,
}

// recent is how long ago a client that is not blocked must have popped to
// count: the plugin's bridge pops in a loop (BLPOP with a 1 s timeout), and
// a connection left idle since a pop long ago takes nothing.
const recent = time.Minute

// ErrUnavailable wraps Redis's refusal of CLIENT LIST, which an ACL or a
// managed Redis that disables the command may forbid: then the check
// cannot be made at all.
var ErrUnavailable = errors.New("Redis does not allow CLIENT LIST to this user, so the bridge cannot see other programs taking entries from the list")

// Consumers lists the clients of rdb's database that take entries from
// lists and are not the bridge's own (see NameConnections).
func Consumers(ctx context.Context, rdb redis.UniversalClient) ([]Consumer, error) {
	if cluster, ok := rdb.(*redis.ClusterClient); ok {
		// CLIENT LIST answers for one node: ask every primary, where
		// the plugin and any other consumer pop (a Cluster has only
		// database 0).
		var (
			mu  sync.Mutex
			all []Consumer
		)
		err := cluster.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			found, err := Consumers(ctx, node)
			mu.Lock()
			defer mu.Unlock()
			all = append(all, found...)
			return err
		})
		return all, err
	}
	text, err := rdb.ClientList(ctx).Result()
	if refused(err) {
		return nil, fmt.Errorf("%w (%v)", ErrUnavailable, err)
	}
	if err != nil {
		return nil, err
	}
	return parseClients(text, redisconn.DB(rdb)), nil
}

// refused tells Redis's lasting refusals of a command (an ACL, a command
// renamed away) from errors that pass (LOADING while Redis starts, a
// dropped connection).
func refused(err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return false
	}
	msg := err.Error()
	return strings.HasPrefix(msg, "NOPERM") || strings.Contains(msg, "unknown command") || strings.Contains(msg, "unknown subcommand")
}

// parseClients reads CLIENT LIST: a line per client of space-separated
// key=value fields.
func parseClients(text string, db int) []Consumer {
	var out []Consumer
	for line := range strings.Lines(text) {
		f := map[string]string{}
		for field := range strings.FieldsSeq(line) {
			if k, v, ok := strings.Cut(field, "="); ok {
				f[k] = v
			}
		}
		idle, _ := strconv.Atoi(f["idle"])
		blocked := strings.Contains(f["flags"], "b")
		ours := strings.HasPrefix(f["name"], redisconn.NamePrefix)
		active := blocked || time.Duration(idle)*time.Second <= recent
		if f["db"] == strconv.Itoa(db) && !ours && popCommands[f["cmd"]] && active {
			out = append(out, Consumer{Addr: f["addr"], Name: f["name"], Cmd: f["cmd"], Blocked: blocked})
		}
	}
	return out
}

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
func EventsElsewhere(ctx context.Context, rdb redis.UniversalClient, list string) ([]Elsewhere, error) {
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

// Warning is what was found, in words: the same for ingest's log and for
// the page.
type Warning struct {
	// Code is a stable name, for tools: CodeOtherConsumer, CodeEventsElsewhere.
	Code string
	// Summary says what is wrong and what to do, for a lab manager.
	Summary string
	// Detail is for whoever fixes it.
	Detail string
}

const (
	CodeOtherConsumer   = "other_list_consumer"
	CodeEventsElsewhere = "events_in_other_list"
)

// ConsumersWarning says that others take entries from list.
func ConsumersWarning(list string, db int, others []Consumer) Warning {
	seen := make([]string, len(others))
	for i, c := range others {
		seen[i] = c.String()
	}
	return Warning{
		Code: CodeOtherConsumer,
		Summary: fmt.Sprintf("Another program seems to be taking NEMO's events from Redis (the list %s) before the bridge can read them, so tool displays miss events. It is most likely the NEMO plugin's own MQTT bridge: %s.",
			list, TurnOffPluginBridge),
		Detail: fmt.Sprintf("in database %d: %s; the bridge's own connections are named %s*", db, strings.Join(seen, "; "), redisconn.NamePrefix),
	}
}

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
