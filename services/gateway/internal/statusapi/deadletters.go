package statusapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

func (s *Server) ListDeadLetters(ctx context.Context, req *statusv1.ListDeadLettersRequest) (*statusv1.ListDeadLettersResponse, error) {
	limit := int64(req.GetLimit())
	switch {
	case limit < 0:
		return nil, invalid("limit %d: it cannot be negative", limit)
	case limit == 0:
		limit = defaultMessages
	}
	pipe := s.rdb.Pipeline()
	entries := pipe.XRevRangeN(ctx, s.input.DeadLetterStream, "+", "-", min(limit, maxMessages))
	total := pipe.XLen(ctx, s.input.DeadLetterStream)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, redisError(err)
	}
	resp := &statusv1.ListDeadLettersResponse{Total: total.Val()}
	for _, e := range entries.Val() {
		resp.DeadLetters = append(resp.DeadLetters, records.ReadDeadLetter(e))
	}
	return resp, nil
}

func (s *Server) ReplayDeadLetter(ctx context.Context, req *statusv1.ReplayDeadLetterRequest) (*statusv1.ReplayDeadLetterResponse, error) {
	if req.GetId() == "" {
		return nil, invalid("id is empty: give a dead letter's id from the list")
	}
	entries, err := s.rdb.XRangeN(ctx, s.input.DeadLetterStream, req.GetId(), req.GetId(), 1).Result()
	if err != nil {
		if strings.Contains(err.Error(), "Invalid stream ID") {
			return nil, invalid("id %q is not a dead letter's id (they look like 1732540000000-0)", req.GetId())
		}
		return nil, redisError(err)
	}
	if len(entries) == 0 {
		return nil, status.Errorf(codes.NotFound, "no dead letter %s: it was replayed already or trimmed", req.GetId())
	}
	if err := s.replay(ctx, entries[0]); err != nil {
		return nil, err
	}
	return &statusv1.ReplayDeadLetterResponse{}, nil
}

func (s *Server) ReplayAllDeadLetters(ctx context.Context, _ *statusv1.ReplayAllDeadLettersRequest) (*statusv1.ReplayAllDeadLettersResponse, error) {
	resp := &statusv1.ReplayAllDeadLettersResponse{}
	// Oldest first, so that events of one tool go back in their order.
	// Only what exists now: a letter that fails again is a new entry, after
	// the last one read here, so it is not replayed twice in one call.
	last, err := s.rdb.XRevRangeN(ctx, s.input.DeadLetterStream, "+", "-", 1).Result()
	if err != nil {
		return nil, redisError(err)
	}
	if len(last) == 0 {
		return resp, nil
	}
	start := "-"
	for {
		entries, err := s.rdb.XRangeN(ctx, s.input.DeadLetterStream, start, last[0].ID, 100).Result()
		if err != nil {
			return resp, redisError(err)
		}
		for _, e := range entries {
			if err := s.replay(ctx, e); err != nil {
				return resp, err
			}
			resp.Replayed++
		}
		if len(entries) < 100 {
			return resp, nil
		}
		start = "(" + entries[len(entries)-1].ID
	}
}

// replay puts a dead letter's original entry back where it was read from
// and removes the letter, in one transaction: nothing is lost or doubled
// if the gateway dies half way.
//
// In a Redis Cluster whose input and dead letters are in different hash
// slots (by default they are), one transaction cannot span both: the entry
// is put back first and the letter removed after, so that a failure in
// between leaves a letter already replayed (replayed again, the event is
// a duplicate, which subscribers drop by its event_id), never a lost
// event.
func (s *Server) replay(ctx context.Context, e redis.XMessage) error {
	d := records.ReadDeadLetter(e)
	// The letter's typed input (source_kind, source_key); a letter
	// written before those fields has it parsed from its source's words
	// by records.ReadDeadLetter.
	in := d.GetInput()
	putBack := func(pipe redis.Pipeliner) error {
		switch in.GetKind() {
		case statusv1.InputKind_INPUT_KIND_STREAM:
			fields, err := records.ReplayStreamValues(d)
			if err != nil {
				return invalid("%v", err)
			}
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: in.GetKey(), Values: fields})
		case statusv1.InputKind_INPUT_KIND_LIST:
			pipe.LPush(ctx, in.GetKey(), d.GetEntry())
		case statusv1.InputKind_INPUT_KIND_CHANNEL:
			pipe.Publish(ctx, in.GetKey(), d.GetEntry())
		default:
			return invalid("dead letter %s came from %q, which is not an input the bridge reads", d.GetId(), d.GetSource())
		}
		return nil
	}
	var err error
	if _, cluster := s.rdb.(*redis.ClusterClient); cluster && (in.GetKind() == statusv1.InputKind_INPUT_KIND_CHANNEL || !records.SameSlot(in.GetKey(), s.input.DeadLetterStream)) {
		if _, err = s.rdb.Pipelined(ctx, putBack); err == nil {
			err = s.rdb.XDel(ctx, s.input.DeadLetterStream, d.GetId()).Err()
		}
	} else {
		_, err = s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			if err := putBack(pipe); err != nil {
				return err
			}
			pipe.XDel(ctx, s.input.DeadLetterStream, d.GetId())
			return nil
		})
	}
	var st interface{ GRPCStatus() *status.Status }
	if errors.As(err, &st) {
		return err
	}
	if err != nil {
		return redisError(fmt.Errorf("replay %s: %w", d.GetId(), err))
	}
	return nil
}
