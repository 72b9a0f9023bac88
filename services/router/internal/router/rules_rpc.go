package router

import (
	"context"
	"errors"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/rules"
)

// GetRules reports the rules in force and the last failed reload.
func (s *server) GetRules(context.Context, *routerv1.GetRulesRequest) (*routerv1.GetRulesResponse, error) {
	return &routerv1.GetRulesResponse{Rules: s.rules.info()}, nil
}

// ReloadRules reads the rules file now, for an admin who wants to know at
// once whether an edit is taken.
func (s *server) ReloadRules(context.Context, *routerv1.ReloadRulesRequest) (*routerv1.ReloadRulesResponse, error) {
	changed, err := s.rules.reload("ReloadRules")
	var mistakes *rules.Errors
	switch {
	case errors.Is(err, errBuiltIn):
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	case errors.As(err, &mistakes):
		return nil, status.Error(codes.InvalidArgument, mistakes.Error())
	case err != nil:
		// The file cannot be read: nothing wrong with the request.
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	return &routerv1.ReloadRulesResponse{Rules: s.rules.info(), Changed: changed}, nil
}

// DryRun applies the rules in force to an event and stops there: nothing
// is published and the tool state is not touched. The rules read the
// tool's state as the event would leave it.
func (s *server) DryRun(_ context.Context, req *routerv1.DryRunRequest) (*routerv1.DryRunResponse, error) {
	if req.GetEvent() == nil {
		return nil, status.Error(codes.InvalidArgument, "event is missing")
	}
	ev := req.GetEvent()
	payload.Decode(ev) // a client's event, unlike ingest's, may come undecoded
	set := s.rules.current()
	msgs, matched, err := set.Apply(ev, s.state.after(ev))
	resp := &routerv1.DryRunResponse{Messages: msgs, MatchedRules: matched, RulesVersion: set.Version()}
	if err != nil {
		resp.Error = err.Error()
	}
	return resp, nil
}
