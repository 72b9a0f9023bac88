package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelRedis is a primary with one replica watched by three sentinels,
// all throwaway redis-servers on free loopback ports that fail the primary
// over within seconds of its death.
type SentinelRedis struct {
	Primary, Replica *Redis
	Sentinels        []*Process
	SentinelAddrs    []string
	MasterName       string
}

// StartSentinelRedis starts the primary, its replica (replicaof) and three
// sentinels (redis-server --sentinel), and waits until the sentinels see
// the replica. A sentinel calls the primary down after downAfter without
// an answer.
func (e *Env) StartSentinelRedis(downAfter time.Duration) (*SentinelRedis, error) {
	s := &SentinelRedis{MasterName: "bridge-primary"}
	var err error
	if s.Primary, err = e.startRedisNamed("redis-primary"); err != nil {
		return nil, err
	}
	if s.Replica, err = e.startRedisNamed("redis-replica", "--replicaof", "127.0.0.1", port(s.Primary.Addr)); err != nil {
		return nil, err
	}
	for i := range 3 {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		conf := filepath.Join(e.Dir, fmt.Sprintf("sentinel-%d.conf", i))
		// A sentinel rewrites its file: one each.
		text := strings.Join([]string{
			"port " + strconv.Itoa(p),
			"bind 127.0.0.1",
			"dir " + e.Dir,
			fmt.Sprintf("sentinel monitor %s 127.0.0.1 %s 2", s.MasterName, port(s.Primary.Addr)),
			fmt.Sprintf("sentinel down-after-milliseconds %s %d", s.MasterName, downAfter.Milliseconds()),
			fmt.Sprintf("sentinel failover-timeout %s %d", s.MasterName, (5 * downAfter).Milliseconds()),
			fmt.Sprintf("sentinel parallel-syncs %s 1", s.MasterName),
		}, "\n") + "\n"
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return nil, err
		}
		proc, err := e.StartProcess(fmt.Sprintf("sentinel-%d", i), "redis-server", conf, "--sentinel")
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		if err := WaitTCP(addr, 10*time.Second); err != nil {
			return nil, err
		}
		s.Sentinels, s.SentinelAddrs = append(s.Sentinels, proc), append(s.SentinelAddrs, addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, addr := range s.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
		for {
			replicas, err := sc.Replicas(ctx, s.MasterName).Result()
			if err == nil && len(replicas) > 0 {
				break
			}
			if ctx.Err() != nil {
				sc.Close()
				return nil, fmt.Errorf("sentinel %s does not see the replica: %v", addr, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		sc.Close()
	}
	return s, nil
}

// URL of database db in the Sentinel form, as the services take it.
func (s *SentinelRedis) URL(db int) string {
	return fmt.Sprintf("redis+sentinel://%s/%s/%d", strings.Join(s.SentinelAddrs, ","), s.MasterName, db)
}

// Client of database db that follows the primary through a failover.
func (s *SentinelRedis) Client(db int) *redis.Client {
	return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: s.SentinelAddrs, DB: db})
}

// PrimaryAddr is the primary's address according to the first sentinel
// that answers.
func (s *SentinelRedis) PrimaryAddr(ctx context.Context) (string, error) {
	var last error
	for _, addr := range s.SentinelAddrs {
		sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
		a, err := sc.GetMasterAddrByName(ctx, s.MasterName).Result()
		sc.Close()
		if err == nil && len(a) == 2 {
			return net.JoinHostPort(a[0], a[1]), nil
		}
		last = err
	}
	return "", last
}

// startRedisNamed runs a redis-server that keeps nothing on disk (its
// replication file aside) under a log name of its own.
func (e *Env) startRedisNamed(name string, args ...string) (*Redis, error) {
	p, err := FreePort()
	if err != nil {
		return nil, err
	}
	all := append([]string{"--port", strconv.Itoa(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", e.Dir, "--dbfilename", name + ".rdb"}, args...)
	proc, err := e.StartProcess(name, "redis-server", all...)
	if err != nil {
		return nil, err
	}
	r := &Redis{Process: proc, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(p))}
	return r, WaitTCP(r.Addr, 10*time.Second)
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}
