package harness

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a throwaway redis-server that keeps nothing on disk.
type Redis struct {
	*Process
	Addr string
}

// StartRedis runs redis-server on a free loopback port.
func (e *Env) StartRedis() (*Redis, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	p, err := e.StartProcess("redis", "redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", e.Dir)
	if err != nil {
		return nil, err
	}
	r := &Redis{Process: p, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	return r, WaitTCP(r.Addr, 10*time.Second)
}

// URL of database db, as the services take it.
func (r *Redis) URL(db int) string { return fmt.Sprintf("redis://%s/%d", r.Addr, db) }

// Client of database db.
func (r *Redis) Client(db int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: r.Addr, DB: db})
}

// Restart starts Redis again on the same port after Stop.
func (r *Redis) Restart() error {
	if err := r.Start(); err != nil {
		return err
	}
	return WaitTCP(r.Addr, 10*time.Second)
}
