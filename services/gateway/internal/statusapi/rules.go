package statusapi

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

func (s *Server) GetRules(ctx context.Context, _ *statusv1.GetRulesRequest) (*statusv1.GetRulesResponse, error) {
	var resp *routerv1.GetRulesResponse
	err := s.peers.onRouter(func(c routerv1.RouterServiceClient) (err error) {
		resp, err = c.GetRules(ctx, &routerv1.GetRulesRequest{})
		return err
	})
	if err != nil {
		return nil, routerError(err)
	}
	return &statusv1.GetRulesResponse{Rules: publicRules(resp.GetRules())}, nil
}

// ReloadRules asks one router, whose answer carries the mistakes of a bad
// file, and then tells every other router replica on the control channel.
func (s *Server) ReloadRules(ctx context.Context, _ *statusv1.ReloadRulesRequest) (*statusv1.ReloadRulesResponse, error) {
	var resp *routerv1.ReloadRulesResponse
	err := s.peers.onRouter(func(c routerv1.RouterServiceClient) (err error) {
		resp, err = c.ReloadRules(ctx, &routerv1.ReloadRulesRequest{})
		return err
	})
	if err != nil {
		return nil, routerError(err)
	}
	if err := s.rdb.Publish(ctx, records.ControlChannel, records.ReloadConfig).Err(); err != nil {
		return nil, redisError(err)
	}
	return &statusv1.ReloadRulesResponse{Rules: publicRules(resp.GetRules()), Changed: resp.GetChanged()}, nil
}

func publicRules(r *routerv1.Rules) *statusv1.Rules {
	return &statusv1.Rules{
		Version: r.GetVersion(), Source: r.GetSource(), LoadedAt: r.GetLoadedAt(),
		LastError: r.GetLastError(), LastErrorAt: r.GetLastErrorAt(), RuleNames: r.GetRuleNames(),
	}
}

// routerError keeps the router's own refusals (a bad rules file is
// INVALID_ARGUMENT) and says in words when the router cannot be reached.
func routerError(err error) error {
	st := status.Convert(err)
	if st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded {
		return status.Errorf(codes.Unavailable, "the router is unreachable: %s", st.Message())
	}
	return err
}
