// Package redisconn makes the Redis clients every service uses: from a URL
// flag, with any mistake in it said without the URL (which may hold a
// password), and with every connection named as the bridge's.
//
// A URL names one of three kinds of Redis, and every service takes any of
// them:
//
//	redis://[[user]:password@]host[:port][/db]        one server (rediss:// for TLS)
//	redis+sentinel://[[user]:password@]host1[:port],host2[:port],.../master-name[/db]
//	                                                  a primary that Sentinel fails over (rediss+sentinel:// for TLS)
//	redis+cluster://[[user]:password@]host1[:port],host2[:port],...
//	                                                  a Redis Cluster (rediss+cluster:// for TLS)
//
// In the Sentinel form the login is the data nodes' (primary and
// replicas); the sentinels' own login, when they have one, is given in the
// query parameters sentinel_username and sentinel_password. Sentinels
// listen on 26379 unless told; cluster nodes on 6379. A cluster has only
// database 0. Other query parameters are go-redis's (dial_timeout=3s, ...).
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/secret"
)

// NamePrefix starts the name of every Redis connection of the bridge
// ("nemo-bridge-ingest"), so that CLIENT LIST tells them from other
// programs'.
const NamePrefix = "nemo-bridge-"

// Kind is the kind of Redis a URL names.
type Kind int

const (
	Single   Kind = iota // one server: redis://, rediss://
	Sentinel             // a primary failed over by Sentinel: redis+sentinel://
	Cluster              // a Redis Cluster: redis+cluster://
)

func (k Kind) String() string {
	switch k {
	case Sentinel:
		return "Sentinel"
	case Cluster:
		return "Cluster"
	}
	return "single server"
}

// Config makes clients of the Redis a URL names. It is a value: changing a
// copy (WithTimeouts, ...) leaves the original as it was.
type Config struct {
	kind     Kind
	single   redis.Options
	failover redis.FailoverOptions
	cluster  redis.ClusterOptions
}

const forms = "redis://[[user]:password@]host[:port][/db], redis+sentinel://[[user]:password@]host:port,host:port,.../master-name[/db] or redis+cluster://[[user]:password@]host:port,host:port,..."

// Parse reads rawURL, the value of -flagName, for service. Connections
// made from the config name themselves with CLIENT SETNAME, best effort: a
// Redis whose ACL refuses it still serves the connection, which
// ClientName would fail instead.
//
// go-redis reads the URL without its user name and password, which are
// set from it afterwards: its errors quote parts of the URL (the database
// number, the path), and so can never quote the password.
func Parse(flagName, rawURL, service string) (Config, error) {
	mistake := func(err error) error {
		return fmt.Errorf("-%s: not a Redis URL (%s): %w", flagName, forms, err)
	}
	scheme, _, _ := strings.Cut(rawURL, "://")
	var (
		c   Config
		err error
	)
	switch strings.ToLower(scheme) {
	case "redis+sentinel", "rediss+sentinel":
		c, err = parseSentinel(rawURL)
	case "redis+cluster", "rediss+cluster":
		c, err = parseCluster(rawURL)
	default:
		c, err = parseSingle(rawURL)
	}
	if err != nil {
		return Config{}, mistake(err)
	}
	return c.WithName(service), nil
}

func parseSingle(rawURL string) (Config, error) {
	u, err := secret.ParseURL(rawURL)
	if err != nil {
		return Config{}, err
	}
	login := u.User
	u.User = nil
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		return Config{}, err
	}
	opts.Username, opts.Password = userPassword(login)
	return Config{kind: Single, single: *opts}, nil
}

// multiHost is a URL of the Sentinel or Cluster form taken apart: its
// hosts, its login, and the rest (path and query) as parsed by url.Parse.
type multiHost struct {
	tls   bool
	hosts []string
	login *url.Userinfo
	path  string
	query url.Values
}

// splitMultiHost takes a URL of several hosts apart. url.Parse does not
// take a list of hosts ([::1]:26379 among others), so the hosts are cut
// out first and what remains is parsed with a stand-in host.
func splitMultiHost(rawURL string, defaultPort string) (multiHost, error) {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	var m multiHost
	m.tls = strings.HasPrefix(strings.ToLower(scheme), "rediss")
	login, hostsAndRest := "", rest
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		login, hostsAndRest = rest[:at+1], rest[at+1:]
	}
	end := strings.IndexAny(hostsAndRest, "/?#")
	if end < 0 {
		end = len(hostsAndRest)
	}
	hosts, tail := hostsAndRest[:end], hostsAndRest[end:]
	u, err := secret.ParseURL("redis://" + login + "stand-in" + tail)
	if err != nil {
		return m, err
	}
	if u.Fragment != "" {
		return m, errors.New("a Redis URL has no #fragment")
	}
	m.login, m.path, m.query = u.User, u.Path, u.Query()
	for h := range strings.SplitSeq(hosts, ",") {
		if h == "" {
			return m, errors.New("the list of hosts is empty or has an empty entry")
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			// No port: the default one. An IPv6 address needs brackets.
			if strings.Count(h, ":") > 0 && !strings.HasPrefix(h, "[") {
				return m, fmt.Errorf("host %q: write an IPv6 address in brackets, [::1]:%s", h, defaultPort)
			}
			host, port = strings.Trim(h, "[]"), defaultPort
		}
		if host == "" {
			return m, fmt.Errorf("host %q has no name", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return m, fmt.Errorf("host %q: the port is not a number from 1 to 65535", h)
		}
		m.hosts = append(m.hosts, net.JoinHostPort(host, port))
	}
	return m, nil
}

// goRedisURL writes m for go-redis's parsers: the first host, the others as
// addr parameters, the query as given plus extra, no login.
func (m multiHost) goRedisURL(path string, extra url.Values) string {
	q := url.Values{}
	for k, v := range m.query {
		q[k] = v
	}
	for k, v := range extra {
		q[k] = v
	}
	for _, h := range m.hosts[1:] {
		q.Add("addr", h)
	}
	u := url.URL{Scheme: "redis", Host: m.hosts[0], Path: path, RawQuery: q.Encode()}
	if m.tls {
		u.Scheme = "rediss"
	}
	return u.String()
}

func parseSentinel(rawURL string) (Config, error) {
	m, err := splitMultiHost(rawURL, "26379")
	if err != nil {
		return Config{}, err
	}
	parts := strings.FieldsFunc(m.path, func(r rune) bool { return r == '/' })
	if len(parts) == 0 || len(parts) > 2 {
		return Config{}, errors.New("the Sentinel form ends with /master-name or /master-name/db")
	}
	path := ""
	if len(parts) == 2 {
		if _, err := strconv.Atoi(parts[1]); err != nil {
			return Config{}, fmt.Errorf("the database %q is not a number", parts[1])
		}
		path = "/" + parts[1]
	}
	if m.query.Has("master_name") {
		return Config{}, errors.New("the master name is the URL's path (/master-name), not a master_name parameter")
	}
	// The sentinels' login is taken out before go-redis reads the rest, so
	// that none of its errors can quote it.
	sentinelUser, sentinelPassword := m.query.Get("sentinel_username"), m.query.Get("sentinel_password")
	m.query.Del("sentinel_username")
	m.query.Del("sentinel_password")
	opts, err := redis.ParseFailoverURL(m.goRedisURL(path, url.Values{"master_name": {parts[0]}}))
	if err != nil {
		return Config{}, err
	}
	opts.Username, opts.Password = userPassword(m.login)
	opts.SentinelUsername, opts.SentinelPassword = sentinelUser, sentinelPassword
	return Config{kind: Sentinel, failover: *opts}, nil
}

func parseCluster(rawURL string) (Config, error) {
	m, err := splitMultiHost(rawURL, "6379")
	if err != nil {
		return Config{}, err
	}
	if p := strings.Trim(m.path, "/"); p != "" && p != "0" {
		return Config{}, errors.New("Redis Cluster has only database 0: give no database (or /0) in a redis+cluster:// URL")
	}
	if m.query.Has("db") {
		return Config{}, errors.New("Redis Cluster has only database 0: drop the db parameter")
	}
	opts, err := redis.ParseClusterURL(m.goRedisURL("", nil))
	if err != nil {
		return Config{}, err
	}
	opts.Username, opts.Password = userPassword(m.login)
	return Config{kind: Cluster, cluster: *opts}, nil
}

func userPassword(login *url.Userinfo) (user, password string) {
	if login == nil {
		return "", ""
	}
	password, _ = login.Password()
	return login.Username(), password
}

// FromOptions makes a config of one server from opts, for tests.
func FromOptions(opts *redis.Options) Config {
	return Config{kind: Single, single: *opts}
}

// Kind says which kind of Redis the config names.
func (c Config) Kind() Kind { return c.kind }

// DB is the database number the clients use (always 0 in a Cluster).
func (c Config) DB() int {
	switch c.kind {
	case Sentinel:
		return c.failover.DB
	case Cluster:
		return 0
	}
	return c.single.DB
}

// Addr says where the Redis is, for logs and the status page: host:port,
// or the sentinels or cluster nodes it starts from.
func (c Config) Addr() string {
	switch c.kind {
	case Sentinel:
		return fmt.Sprintf("primary %q via sentinels %s", c.failover.MasterName, strings.Join(c.failover.SentinelAddrs, ","))
	case Cluster:
		return "Cluster " + strings.Join(c.cluster.Addrs, ",")
	}
	return c.single.Addr
}

// WithName names the clients' connections NamePrefix + name (CLIENT
// SETNAME, best effort), e.g. "nemo-bridge-ingest"; Parse names them after
// the service.
func (c Config) WithName(name string) Config {
	name = NamePrefix + name
	onConnect := func(ctx context.Context, cn *redis.Conn) error {
		_ = cn.ClientSetName(ctx, name).Err()
		return nil
	}
	c.single.OnConnect, c.failover.OnConnect, c.cluster.OnConnect = onConnect, onConnect, onConnect
	return c
}

// WithTimeouts sets the dial, read and write timeouts.
func (c Config) WithTimeouts(dial, read, write time.Duration) Config {
	c.single.DialTimeout, c.single.ReadTimeout, c.single.WriteTimeout = dial, read, write
	c.failover.DialTimeout, c.failover.ReadTimeout, c.failover.WriteTimeout = dial, read, write
	c.cluster.DialTimeout, c.cluster.ReadTimeout, c.cluster.WriteTimeout = dial, read, write
	return c
}

// WithContextTimeout makes the clients honour context deadlines
// (ContextTimeoutEnabled): a call given up at its deadline also ends in
// the client.
func (c Config) WithContextTimeout() Config {
	c.single.ContextTimeoutEnabled = true
	c.failover.ContextTimeoutEnabled = true
	c.cluster.ContextTimeoutEnabled = true
	return c
}

// Client makes a client. Each call makes a new one, with its own
// connections; the config is not changed (go-redis fills in defaults in
// the options it is given, a copy here).
func (c Config) Client() redis.UniversalClient {
	switch c.kind {
	case Sentinel:
		o := c.failover
		o.SentinelAddrs = append([]string(nil), o.SentinelAddrs...)
		o.Dialer = dialer(o.DialTimeout, o.TLSConfig)
		return redis.NewFailoverClient(&o)
	case Cluster:
		o := c.cluster
		o.Addrs = append([]string(nil), o.Addrs...)
		o.Dialer = dialer(o.DialTimeout, o.TLSConfig)
		return redis.NewClusterClient(&o)
	}
	o := c.single
	o.Dialer = dialer(o.DialTimeout, o.TLSConfig)
	return redis.NewClient(&o)
}

// NoRetryClient makes a client that never retries a command (MaxRetries
// -1), for commands that must not run twice. go-redis retries a command
// whose connection failed before the reply arrived (io.EOF, a reset),
// although Redis may have run it: a command that takes entries then takes
// the next ones too, an increment adds twice. Without the retry the
// command fails, and the caller, which knows what the command does,
// decides what to do.
//
// In a Cluster, a command is still sent again to another node when Redis
// answers MOVED or ASK (MaxRedirects): the node that answered so did not
// run it.
func (c Config) NoRetryClient() redis.UniversalClient {
	c.single.MaxRetries, c.failover.MaxRetries, c.cluster.MaxRetries = -1, -1, -1
	return c.Client()
}

// DB is the database number rdb uses: 0 in a Cluster.
func DB(rdb redis.UniversalClient) int {
	if c, ok := rdb.(*redis.Client); ok {
		return c.Options().DB
	}
	return 0
}

// ReadTimeout is how long rdb waits for a reply, 0 or less for no limit.
// go-redis gives a blocking command alone a wait of its own, longer than
// its BLOCK, but a blocking command in a pipeline only this.
func ReadTimeout(rdb redis.UniversalClient) time.Duration {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.Options().ReadTimeout
	case *redis.Client:
		return c.Options().ReadTimeout
	}
	return 0
}

// Addr says where rdb's Redis is, for logs and the status page.
func Addr(rdb redis.UniversalClient) string {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return "Cluster " + strings.Join(c.Options().Addrs, ",")
	case *redis.Client:
		if a := c.Options().Addr; a != "FailoverClient" {
			return a
		}
		return "the primary that Sentinel names"
	}
	return "Redis"
}
