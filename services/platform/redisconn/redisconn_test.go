package redisconn

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// A URL that does not parse is refused naming the flag, never repeating the
// URL nor any part of the password in it, whatever its form.
func TestAMistakeIsSaidWithoutTheURL(t *testing.T) {
	for _, raw := range []string{
		"redis://:s3cret-pw@host:port-not-a-number/1",
		// The password's "/" not escaped: go-redis would read "pw@host"
		// as the database number and quote it.
		"redis://:s3cret/pw@host:6379/1",
		"redis://:s3cret-pw@host:6379/one",
		"ftp://:s3cret-pw@host:6379/1",
		// Sentinel: no master name, a bad database, a bad port, an
		// unescaped "/" in the password, an unknown parameter, an empty
		// host, master_name given twice, an IPv6 address without brackets.
		"redis+sentinel://:s3cret-pw@h1:26379,h2:26379",
		"redis+sentinel://:s3cret-pw@h1:26379,h2:26379/mymaster/one",
		"redis+sentinel://:s3cret-pw@h1:26379,h2:nope/mymaster",
		"redis+sentinel://:s3cret/pw@h1:26379/mymaster/1",
		"redis+sentinel://u:s3cret-pw@h1:26379/mymaster?bogus=1&sentinel_password=s3cret-pw",
		"redis+sentinel://u:s3cret-pw@h1:26379,,h2/mymaster",
		"rediss+sentinel://u:s3cret-pw@h1/mymaster/1/2",
		"redis+sentinel://u:s3cret-pw@h1/mymaster?master_name=other",
		"redis+sentinel://u:s3cret-pw@::1/mymaster",
		// Cluster: a database other than 0, a bad port, no host, a
		// fragment, an unknown parameter.
		"redis+cluster://:s3cret-pw@h1:7000,h2:7001/1",
		"redis+cluster://:s3cret-pw@h1:7000?db=2",
		"redis+cluster://:s3cret-pw@h1:70000,h2:7001",
		"redis+cluster://:s3cret-pw@/",
		"rediss+cluster://:s3cret-pw@h1:7000#s3cret-pw",
		"redis+cluster://:s3cret-pw@h1:7000?what=1",
		"redis+cluster://:s3cret/pw@h1:7000",
	} {
		_, err := Parse("redis-url", raw, "ingest")
		if err == nil || !strings.Contains(err.Error(), "-redis-url") || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: error %v, want one naming -redis-url without the password", raw, err)
		}
	}
}

// The user name and password in the URL are the ones the client logs in
// with, escaped characters read as meant.
func TestTheURLsLoginIsUsed(t *testing.T) {
	c, err := Parse("redis-url", "redis://bridge:p%40ss%2Fw@127.0.0.1:6390/1", "ingest")
	opts := &c.single
	if err != nil || c.Kind() != Single || c.DB() != 1 || opts.Addr != "127.0.0.1:6390" || opts.OnConnect == nil {
		t.Fatalf("a good URL: %+v, %v", opts, err)
	}
	if opts.Username != "bridge" || opts.Password != "p@ss/w" {
		t.Fatalf("login %q / %q, want bridge / p@ss/w", opts.Username, opts.Password)
	}
	c, err = Parse("redis-url", "redis://:pw@127.0.0.1:6390/1", "ingest")
	if err != nil || c.single.Username != "" || c.single.Password != "pw" {
		t.Fatalf("a password alone: %q / %q, %v", c.single.Username, c.single.Password, err)
	}
	c, err = Parse("redis-url", "rediss://localhost/2?dial_timeout=3", "ingest")
	if err != nil || c.single.Password != "" || c.single.TLSConfig == nil || c.DB() != 2 {
		t.Fatalf("no login, TLS: %+v, %v", c.single, err)
	}
}

// The Sentinel form: the hosts are the sentinels (26379 unless told), the
// path the master name and database, the login the data nodes', the
// sentinels' own login in the query.
func TestTheSentinelForm(t *testing.T) {
	c, err := Parse("redis-url", "redis+sentinel://bridge:p%40ss@s1:26380,s2,[::1]:26381/my%20master/1?sentinel_username=sen&sentinel_password=s%2Fpw&dial_timeout=3s", "router")
	if err != nil {
		t.Fatal(err)
	}
	o := c.failover
	if c.Kind() != Sentinel || c.DB() != 1 || o.MasterName != "my master" || o.OnConnect == nil || o.TLSConfig != nil {
		t.Fatalf("sentinel options %+v", o)
	}
	if want := []string{"s1:26380", "s2:26379", "[::1]:26381"}; strings.Join(o.SentinelAddrs, " ") != strings.Join(want, " ") {
		t.Fatalf("sentinels %v, want %v", o.SentinelAddrs, want)
	}
	if o.Username != "bridge" || o.Password != "p@ss" || o.SentinelUsername != "sen" || o.SentinelPassword != "s/pw" {
		t.Fatalf("logins %q/%q, sentinels' %q/%q", o.Username, o.Password, o.SentinelUsername, o.SentinelPassword)
	}
	if o.DialTimeout.String() != "3s" {
		t.Fatalf("dial timeout %v", o.DialTimeout)
	}
	c, err = Parse("redis-url", "rediss+sentinel://s1/mymaster", "router")
	if err != nil || c.DB() != 0 || c.failover.TLSConfig == nil || c.failover.Password != "" || c.failover.MasterName != "mymaster" {
		t.Fatalf("TLS, no login, no db: %+v, %v", c.failover, err)
	}
}

// The Cluster form: the hosts are the nodes to start from (6379 unless
// told), database 0 only.
func TestTheClusterForm(t *testing.T) {
	c, err := Parse("redis-url", "redis+cluster://bridge:p%40ss@n1:7000,n2:7001,n3/?read_timeout=2s", "ingest")
	if err != nil {
		t.Fatal(err)
	}
	o := c.cluster
	if c.Kind() != Cluster || c.DB() != 0 || o.OnConnect == nil || o.TLSConfig != nil || o.Username != "bridge" || o.Password != "p@ss" {
		t.Fatalf("cluster options %+v", o)
	}
	if want := "n1:7000 n2:7001 n3:6379"; strings.Join(o.Addrs, " ") != want {
		t.Fatalf("nodes %v, want %s", o.Addrs, want)
	}
	for _, good := range []string{"rediss+cluster://n1:7000/0", "redis+cluster://n1:7000"} {
		if _, err := Parse("redis-url", good, "ingest"); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	_, err = Parse("redis-url", "redis+cluster://n1:7000/3", "ingest")
	if err == nil || !strings.Contains(err.Error(), "only database 0") {
		t.Fatalf("database 3 in a cluster: %v", err)
	}
}

// Every form makes a client of its kind; the NoRetry client never retries
// in any of them, and the config is left as it was.
func TestClientsOfEachForm(t *testing.T) {
	for _, raw := range []string{"redis://127.0.0.1:1/0", "redis+sentinel://127.0.0.1:1/m", "redis+cluster://127.0.0.1:1"} {
		c, err := Parse("redis-url", raw, "ingest")
		if err != nil {
			t.Fatal(err)
		}
		for _, rdb := range []redis.UniversalClient{c.Client(), c.NoRetryClient()} {
			defer rdb.Close()
		}
		noRetry := c.NoRetryClient()
		defer noRetry.Close()
		switch n := noRetry.(type) {
		case *redis.ClusterClient:
			if c.Kind() != Cluster || n.Options().MaxRetries != -1 {
				t.Errorf("%s: %T, max retries %d", raw, n, n.Options().MaxRetries)
			}
		case *redis.Client:
			// Options.init turns -1 into 0 retries.
			if c.Kind() == Cluster || n.Options().MaxRetries != 0 {
				t.Errorf("%s: %T, max retries %d", raw, n, n.Options().MaxRetries)
			}
		}
		if c.single.MaxRetries != 0 || c.failover.MaxRetries != 0 || c.cluster.MaxRetries != 0 {
			t.Errorf("%s: NoRetryClient changed the config", raw)
		}
		normal := c.Client()
		defer normal.Close()
		if n, ok := normal.(*redis.Client); ok && n.Options().MaxRetries != 3 {
			t.Errorf("%s: the normal client retries %d times, want go-redis's 3", raw, n.Options().MaxRetries)
		}
	}
}

// CLI reads the address as the clients do, IPv6 included, and never
// writes the password.
func TestCLIIsTheCommandForTheRedisTheURLNames(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"redis://:pw@[::1]:6380/2", "redis-cli -h ::1 -p 6380 --askpass -n 2 PING"},
		{"rediss+cluster://u:pw@[::1],n2:7000", "redis-cli -c -h ::1 -p 6379 --tls --user u --askpass PING"},
	} {
		cfg, err := Parse("redis-url", c.url, "test")
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.CLI("PING"); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.url, got, c.want)
		}
	}
}
