// Package statusapi answers StatusService from what the pipeline keeps in
// Redis (tool state, recent messages, dead letters, input backlog) and from
// the services themselves (health, the broker session, the rules).
package statusapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// Input names the keys ingest reads and writes; the defaults are ingest's.
type Input struct {
	Mode             string
	Stream           string
	Group            string
	List             string
	ProcessingList   string
	DeadLetterStream string
}

// Server implements StatusService.
type Server struct {
	statusv1.UnimplementedStatusServiceServer
	rdb   redis.UniversalClient
	input Input
	peers *Peers
	rates *Rates
	// testTopic is where test messages go, below it one level per message.
	testTopic string
	now       func() time.Time
	// transitions tells since when a hop is up or down.
	transitions transitions
}

// NewServer answers from rdb and peers; test messages go below testTopic;
// times in sentences are told in zone. Who may call what is not its
// business: Auth's interceptors decide, before any method runs.
func NewServer(rdb redis.UniversalClient, input Input, testTopic string, zone *time.Location, peers *Peers, rates *Rates) *Server {
	now := func() time.Time { return time.Now().In(zone) }
	return &Server{rdb: rdb, input: input, testTopic: testTopic, peers: peers, rates: rates, now: now}
}

// redisError turns a Redis failure into UNAVAILABLE (503 over REST), which
// says the answer may come later, unlike INTERNAL.
func redisError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	return status.Errorf(codes.Unavailable, "Redis is unreachable: %v", err)
}

func invalid(format string, args ...any) error {
	return status.Error(codes.InvalidArgument, fmt.Sprintf(format, args...))
}
