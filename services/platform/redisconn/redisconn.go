// Package redisconn makes the Redis client options every service uses: from
// a URL flag, with any mistake in it said without the URL (which may hold
// a password), and with every connection named as the bridge's.
package redisconn

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/secret"
)

// NamePrefix starts the name of every Redis connection of the bridge
// ("nemo-bridge-ingest"), so that CLIENT LIST tells them from other
// programs'.
const NamePrefix = "nemo-bridge-"

// Options reads rawURL, the value of -flagName, for service. Connections
// made from the options name themselves with CLIENT SETNAME, best effort:
// a Redis whose ACL refuses it still serves the connection, which
// redis.Options.ClientName would fail instead.
//
// go-redis reads the URL without its user name and password, which are
// set from it afterwards: its errors quote parts of the URL (the database
// number, the path), and so can never quote the password.
func Options(flagName, rawURL, service string) (*redis.Options, error) {
	mistake := func(err error) error {
		return fmt.Errorf("-%s: not a Redis URL (redis://[[user]:password@]host[:port][/db]): %w", flagName, err)
	}
	u, err := secret.ParseURL(rawURL)
	if err != nil {
		return nil, mistake(err)
	}
	login := u.User
	u.User = nil
	opts, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, mistake(err)
	}
	if login != nil {
		opts.Username = login.Username()
		opts.Password, _ = login.Password()
	}
	name := NamePrefix + service
	opts.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		_ = cn.ClientSetName(ctx, name).Err()
		return nil
	}
	return opts, nil
}

// NoRetryClient makes a client from opts that never retries a command
// (MaxRetries -1), for commands that must not run twice. go-redis retries a
// command whose connection failed before the reply arrived (io.EOF, a
// reset), although Redis may have run it: a command that takes entries
// then takes the next ones too, an increment adds twice. Without the
// retry the command fails, and the caller, which knows what the command
// does, decides what to do.
func NoRetryClient(opts redis.Options) *redis.Client {
	opts.MaxRetries = -1
	return redis.NewClient(&opts)
}
