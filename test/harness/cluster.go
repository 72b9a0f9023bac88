package harness

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a throwaway Redis Cluster of primaries without
// replicas, each a redis-server on a free loopback port.
type RedisCluster struct {
	Nodes []*Redis
}

// StartRedisCluster starts n redis-servers with cluster mode on, joins them
// with redis-cli --cluster create (the slots spread over all n) and waits
// until every node says cluster_state:ok.
func (e *Env) StartRedisCluster(n int) (*RedisCluster, error) {
	c := &RedisCluster{}
	var addrs []string
	for i := range n {
		name := fmt.Sprintf("redis-cluster-%d", i)
		// The cluster bus listens on a port of its own, by default the
		// node's plus 10000, which nothing here keeps free: another free
		// port is given instead.
		bus, err := FreePort()
		if err != nil {
			return nil, err
		}
		r, err := e.startRedisNamed(name, "--cluster-enabled", "yes", "--cluster-config-file", name+"-nodes.conf",
			"--cluster-port", strconv.Itoa(bus), "--cluster-node-timeout", "2000")
		if err != nil {
			return nil, err
		}
		c.Nodes, addrs = append(c.Nodes, r), append(addrs, r.Addr)
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, r := range c.Nodes {
		rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
		for {
			info, err := rdb.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if ctx.Err() != nil {
				rdb.Close()
				return nil, fmt.Errorf("node %s: the cluster is not ok (%v): %s", r.Addr, err, info)
			}
			time.Sleep(100 * time.Millisecond)
		}
		rdb.Close()
	}
	return c, nil
}

// URL in the Cluster form, as the services take it.
func (c *RedisCluster) URL() string {
	var addrs []string
	for _, r := range c.Nodes {
		addrs = append(addrs, r.Addr)
	}
	return "redis+cluster://" + strings.Join(addrs, ",")
}

// Client of the cluster.
func (c *RedisCluster) Client() *redis.ClusterClient {
	var addrs []string
	for _, r := range c.Nodes {
		addrs = append(addrs, r.Addr)
	}
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
}
