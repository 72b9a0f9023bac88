package pluginlist

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// Lines as redis-server 7.0 writes them in CLIENT LIST.
const clientList = `id=3 addr=127.0.0.1:50300 laddr=127.0.0.1:6379 fd=8 name=nemo-bridge-ingest age=9 idle=0 flags=b db=1 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=52 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=2104 events=r cmd=blmove user=default redir=-1 resp=3
id=4 addr=10.0.0.7:41022 laddr=127.0.0.1:6379 fd=9 name= age=120 idle=0 flags=b db=1 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=28 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=2080 events=r cmd=blpop user=default redir=-1 resp=2
id=5 addr=10.0.0.7:41030 laddr=127.0.0.1:6379 fd=10 name=worker age=60 idle=4 flags=N db=1 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1928 events=r cmd=lpop user=default redir=-1 resp=2
id=6 addr=10.0.0.8:50000 laddr=127.0.0.1:6379 fd=11 name= age=9000 idle=7200 flags=N db=1 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1928 events=r cmd=brpop user=default redir=-1 resp=2
id=7 addr=10.0.0.9:50000 laddr=127.0.0.1:6379 fd=12 name= age=30 idle=0 flags=b db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=28 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=2080 events=r cmd=brpop user=default redir=-1 resp=2
id=8 addr=10.0.0.7:41040 laddr=127.0.0.1:6379 fd=13 name= age=300 idle=0 flags=N db=1 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1928 events=r cmd=lpush user=default redir=-1 resp=2
id=9 addr=127.0.0.1:50310 laddr=127.0.0.1:6379 fd=14 name=nemo-bridge-gateway age=1 idle=0 flags=N db=1 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22426 events=r cmd=client|list user=default redir=-1 resp=3
`

// In the database read, the clients popping a list now or lately that are
// not the bridge's: not its own BLMOVE, not another database, not a
// connection idle for two hours since its last pop, not a writer.
func TestParseClientsFindsOthersPopping(t *testing.T) {
	got := parseClients(clientList, 1)
	want := []Consumer{
		{Addr: "10.0.0.7:41022", Cmd: "blpop", Blocked: true},
		{Addr: "10.0.0.7:41030", Name: "worker", Cmd: "lpop"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if s := got[0].String(); s != "Redis client 10.0.0.7:41022 (no name), waiting in blpop" {
		t.Errorf("String: %q", s)
	}
	if s := got[1].String(); s != `Redis client 10.0.0.7:41030 (name "worker"), last command lpop` {
		t.Errorf("String: %q", s)
	}
}

func TestWarningsSayWhatToDo(t *testing.T) {
	w := ConsumersWarning("nemo_mqtt_events", 1, []Consumer{{Addr: "10.0.0.7:41022", Cmd: "blpop", Blocked: true}})
	for _, part := range []string{"nemo_mqtt_events", "tool displays miss events", `"MQTT Plugin", uncheck "Enable MQTT"`} {
		if !strings.Contains(w.Summary, part) {
			t.Errorf("summary %q lacks %q", w.Summary, part)
		}
	}
	if w.Code != CodeOtherConsumer || !strings.Contains(w.Detail, "in database 1: Redis client 10.0.0.7:41022 (no name), waiting in blpop") {
		t.Errorf("code %q detail %q", w.Code, w.Detail)
	}
	e := ElsewhereWarning("nemo_mqtt_events", 1, Elsewhere{List: "NEMO_mqtt_events", Entries: 1})
	if !strings.Contains(e.Summary, "the list NEMO_mqtt_events holds 1 entry") || !strings.Contains(e.Summary, "set LIST_KEY=NEMO_mqtt_events") {
		t.Errorf("summary %q", e.Summary)
	}
}

// reply is an error reply of Redis, as go-redis returns one.
type reply string

func (r reply) Error() string { return string(r) }
func (reply) RedisError()     {}

// An ACL or a disabled command turns the check off; a Redis that is
// starting or away only skips one look.
func TestOnlyLastingRefusalsTurnTheCheckOff(t *testing.T) {
	for err, want := range map[error]bool{
		reply("NOPERM this user has no permissions to run the 'client|list' command"): true,
		reply("ERR unknown command 'CLIENT', with args beginning with: 'LIST' "):      true,
		reply("ERR unknown subcommand 'LIST'. Try CLIENT HELP."):                      true,
		reply("LOADING Redis is loading the dataset in memory"):                       false,
		errors.New("dial tcp 127.0.0.1:6379: connect: connection refused"):            false,
		nil: false,
	} {
		if got := refused(err); got != want {
			t.Errorf("refused(%v) = %v, want %v", err, got, want)
		}
	}
}
