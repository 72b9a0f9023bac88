package router

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	routerv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/router/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/payload"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/rules"
)

// rulesPoll is how often the rules file is read for changes: reading a
// small file once a second costs nothing, and an edit is then in force
// within two seconds (rules.Watch waits for two equal reads).
const rulesPoll = time.Second

// errBuiltIn answers a reload when there is no file to read again.
var errBuiltIn = errors.New("the router runs the built-in rules; start it with -rules FILE to reload")

// rulebook holds the rules in force. Routing reads them without a lock;
// reloads (a file change, reload_config on the control channel, the
// ReloadRules call) take turns, and each new file is taken or refused
// whole, so that a bad edit never routes a single event.
type rulebook struct {
	inForce atomic.Pointer[rules.Set]
	// source is the rules file; empty for the built-in rules.
	source string
	// cfg is what the router adds to every rules file it loads.
	cfg     rulesConfig
	log     *slog.Logger
	metrics *rulesMetrics

	mu        sync.Mutex // one reload at a time; guards what follows
	loadedAt  time.Time
	lastErr   error
	lastErrAt time.Time
}

// rulesConfig is what the router's settings add to the rules of a file.
type rulesConfig struct {
	// prefix is -topic-prefix; when set it replaces the file's prefix.
	prefix string
	// displays runs the built-in displays profile alongside the rules.
	displays bool
	settings rules.Settings
}

// openRulebook loads the rules the router starts with; mistakes in the
// file stop the start.
func openRulebook(source string, cfg rulesConfig, log *slog.Logger, reg prometheus.Registerer) (*rulebook, error) {
	b := &rulebook{source: source, cfg: cfg, log: log}
	s := rules.Default()
	if source != "" {
		var err error
		if s, err = rules.Load(source); err != nil {
			return nil, err
		}
	}
	s, err := b.finish(s)
	if err != nil {
		return nil, err
	}
	b.metrics = newRulesMetrics(reg)
	b.loadedAt = time.Now()
	b.inForce.Store(s)
	b.metrics.inForce(s.Version(), b.loadedAt)
	log.Info("rules in force", "version", s.Version(), "rules", len(s.Names()), "file", source)
	return b, nil
}

// current is the rules to route with.
func (b *rulebook) current() *rules.Set { return b.inForce.Load() }

// finish adds the router's settings to rules read from a file: the topic
// prefix, the displays profile, display and signing settings. It fails
// for a bad prefix, or rules that ask to sign without a key.
func (b *rulebook) finish(s *rules.Set) (*rules.Set, error) {
	withPrefix := func(s *rules.Set) (*rules.Set, error) {
		if b.cfg.prefix == "" {
			return s, nil
		}
		return s.WithPrefix(b.cfg.prefix)
	}
	s, err := withPrefix(s)
	if err != nil {
		return nil, err
	}
	if b.cfg.displays {
		d, err := withPrefix(rules.Displays())
		if err != nil {
			return nil, err
		}
		s = s.Alongside(d)
	}
	return s.WithSettings(b.cfg.settings)
}

// reload reads the file again now. It reports whether the rules in force
// changed; on an error they stay.
func (b *rulebook) reload(trigger string) (changed bool, err error) {
	if b.source == "" {
		return false, errBuiltIn
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s, err := rules.Load(b.source)
	return b.settleLocked(s, err, trigger)
}

// watch follows the file until ctx ends, ConfigMap updates included (see
// rules.Watch).
func (b *rulebook) watch(ctx context.Context) {
	if b.source == "" {
		return
	}
	settle := func(s *rules.Set, err error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		_, _ = b.settleLocked(s, err, "file")
	}
	rules.Watch(ctx, b.source, rulesPoll, func(s *rules.Set) { settle(s, nil) }, func(err error) { settle(nil, err) })
}

// settleLocked puts the rules s read from the file in force, or refuses
// the file for err.
func (b *rulebook) settleLocked(s *rules.Set, err error, trigger string) (changed bool, _ error) {
	if err == nil {
		s, err = b.finish(s)
	}
	if err != nil {
		b.refuseLocked(err, trigger)
		return false, err
	}
	return b.takeLocked(s, trigger), nil
}

// takeLocked puts s in force unless it is the version in force already.
func (b *rulebook) takeLocked(s *rules.Set, trigger string) bool {
	old := b.inForce.Load()
	hadErr := b.lastErr != nil
	// The last attempt succeeded, so there is no error to report any more.
	b.lastErr, b.lastErrAt = nil, time.Time{}
	if s.Version() == old.Version() {
		if hadErr {
			b.log.Info("the rules file is valid again; it holds the rules in force", "version", s.Version(), "file", b.source, "trigger", trigger)
		}
		return false
	}
	b.loadedAt = time.Now()
	b.inForce.Store(s)
	b.metrics.inForce(s.Version(), b.loadedAt)
	b.metrics.reloads.WithLabelValues("ok").Inc()
	b.log.Info("new rules in force", "version", s.Version(), "previous", old.Version(), "rules", len(s.Names()), "file", b.source, "trigger", trigger)
	return true
}

// refuseLocked keeps the rules in force and remembers why the file was
// refused, for GetRules.
func (b *rulebook) refuseLocked(err error, trigger string) {
	b.lastErr, b.lastErrAt = err, time.Now()
	b.metrics.reloads.WithLabelValues("refused").Inc()
	b.log.Error("rules file refused; the rules in force stay", "file", b.source, "in_force", b.inForce.Load().Version(), "trigger", trigger, "err", err)
}

// info describes the rules in force and the last reload, for GetRules.
func (b *rulebook) info() *routerv1.Rules {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.inForce.Load()
	r := &routerv1.Rules{Version: s.Version(), Source: b.source, LoadedAt: timestamppb.New(b.loadedAt), RuleNames: s.Names()}
	if b.lastErr != nil {
		r.LastError, r.LastErrorAt = b.lastErr.Error(), timestamppb.New(b.lastErrAt)
	}
	return r
}

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
