package statusapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
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
		resp.DeadLetters = append(resp.DeadLetters, deadLetter(e))
	}
	return resp, nil
}

// deadLetter reads one entry as ingest's dead-letter writer wrote it.
func deadLetter(e redis.XMessage) *statusv1.DeadLetter {
	text := func(k string) string { v, _ := e.Values[k].(string); return v }
	d := &statusv1.DeadLetter{
		Id: e.ID, Code: text("code"), Reason: text("reason"), Stage: text("stage"),
		Source: text("source"), SourceId: text("source_id"), Entry: text("entry"),
	}
	if t, err := time.Parse(time.RFC3339Nano, text("failed_at")); err == nil {
		d.FailedAt = timestamppb.New(t)
	}
	return d
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
func (s *Server) replay(ctx context.Context, e redis.XMessage) error {
	d := deadLetter(e)
	kind, name, _ := strings.Cut(d.GetSource(), " ")
	_, err := s.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		switch kind {
		case "stream":
			var fields map[string]any
			if err := json.Unmarshal([]byte(d.GetEntry()), &fields); err != nil || len(fields) == 0 {
				return invalid("dead letter %s holds no stream entry to replay (entry %q)", d.GetId(), d.GetEntry())
			}
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: name, Values: fields})
		case "list":
			pipe.LPush(ctx, name, d.GetEntry())
		case "channel":
			pipe.Publish(ctx, name, d.GetEntry())
		default:
			return invalid("dead letter %s came from %q, which is not an input the bridge reads", d.GetId(), d.GetSource())
		}
		pipe.XDel(ctx, s.input.DeadLetterStream, d.GetId())
		return nil
	})
	var st interface{ GRPCStatus() *status.Status }
	if errors.As(err, &st) {
		return err
	}
	if err != nil {
		return redisError(fmt.Errorf("replay %s: %w", d.GetId(), err))
	}
	return nil
}
