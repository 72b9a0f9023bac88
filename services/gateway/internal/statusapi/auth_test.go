package statusapi

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// call runs the unary check for method as a request with ctx, and says
// whether the handler ran.
func call(a *Auth, ctx context.Context, method string) (codes.Code, bool) {
	ran := false
	_, err := a.Unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) {
		ran = true
		return nil, nil
	})
	return status.Code(err), ran
}

func TestAuthGuardsWritesAlwaysAndReadsWhenAsked(t *testing.T) {
	with := func(header string) context.Context {
		return metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", header))
	}
	none := context.Background()
	const (
		aRead  = statusv1.StatusService_GetHealth_FullMethodName
		aWrite = statusv1.StatusService_ReplayAllDeadLetters_FullMethodName
		probe  = healthpb.Health_Check_FullMethodName
	)
	tests := []struct {
		name               string
		auth               *Auth
		ctx                context.Context
		read, write, probe codes.Code
	}{
		{"none sent", NewAuth("s3cret", false), none, codes.OK, codes.Unauthenticated, codes.OK},
		{"right one sent", NewAuth("s3cret", false), with("Bearer s3cret"), codes.OK, codes.OK, codes.OK},
		{"wrong one sent", NewAuth("s3cret", false), with("Bearer s3cre"), codes.OK, codes.Unauthenticated, codes.OK},
		{"not a bearer", NewAuth("s3cret", false), with("s3cret"), codes.OK, codes.Unauthenticated, codes.OK},
		{"reads protected, none sent", NewAuth("s3cret", true), none, codes.Unauthenticated, codes.Unauthenticated, codes.OK},
		{"reads protected, right one sent", NewAuth("s3cret", true), with("Bearer s3cret"), codes.OK, codes.OK, codes.OK},
		// No token is no way in, not an open door: "Bearer " is refused.
		{"no token at all", NewAuth("", false), with("Bearer "), codes.OK, codes.Unauthenticated, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for method, want := range map[string]codes.Code{aRead: tt.read, aWrite: tt.write, probe: tt.probe} {
				got, ran := call(tt.auth, tt.ctx, method)
				if got != want || ran != (want == codes.OK) {
					t.Errorf("%s: %v (handler ran: %v), want %v", method, got, ran, want)
				}
			}
		})
	}
}

// Every write needs the token, a test message included; a method nobody
// listed is refused even with the token.
func TestAuthRefusesWhatItDoesNotKnow(t *testing.T) {
	a := NewAuth("s3cret", false)
	for _, method := range []string{
		statusv1.StatusService_ReplayDeadLetter_FullMethodName,
		statusv1.StatusService_ReplayAllDeadLetters_FullMethodName,
		statusv1.StatusService_ReloadRules_FullMethodName,
		statusv1.StatusService_SendTestMessage_FullMethodName,
	} {
		if got, _ := call(a, context.Background(), method); got != codes.Unauthenticated {
			t.Errorf("%s without the token: %v, want unauthenticated", method, got)
		}
	}
	admin := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer s3cret"))
	if got, ran := call(a, admin, "/nemo.status.v1.StatusService/DeleteEverything"); got != codes.PermissionDenied || ran {
		t.Errorf("an unlisted method: %v (ran: %v), want permission denied", got, ran)
	}
	err := a.Stream(nil, fakeStream{admin}, &grpc.StreamServerInfo{FullMethod: "/nemo.status.v1.StatusService/WatchEverything"}, func(any, grpc.ServerStream) error {
		t.Error("an unlisted stream ran")
		return nil
	})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("an unlisted stream: %v, want permission denied", err)
	}
	ran := false
	err = a.Stream(nil, fakeStream{context.Background()}, &grpc.StreamServerInfo{FullMethod: healthpb.Health_Watch_FullMethodName}, func(any, grpc.ServerStream) error {
		ran = true
		return nil
	})
	if err != nil || !ran {
		t.Errorf("the health watch, a probe: %v (ran: %v), want it open", err, ran)
	}
}

type fakeStream struct{ ctx context.Context }

func (s fakeStream) Context() context.Context   { return s.ctx }
func (fakeStream) SetHeader(metadata.MD) error  { return nil }
func (fakeStream) SendHeader(metadata.MD) error { return nil }
func (fakeStream) SetTrailer(metadata.MD)       {}
func (fakeStream) SendMsg(any) error            { return nil }
func (fakeStream) RecvMsg(any) error            { return nil }

// Every method of StatusService, as the proto declares it, and of every
// service on a server set up as the gateway's (the platform adds health
// and reflection), has its rule: none is left to the refusal by default.
func TestAuthHasARuleForEveryMethod(t *testing.T) {
	desc := statusv1.File_nemo_status_v1_status_proto.Services().ByName("StatusService")
	if desc == nil {
		t.Fatal("no StatusService in the proto")
	}
	for i := range desc.Methods().Len() {
		m := desc.Methods().Get(i)
		name := "/" + string(desc.FullName()) + "/" + string(m.Name())
		if methods[name] == 0 {
			t.Errorf("%s has no rule in methods", name)
		}
	}

	srv := grpc.NewServer()
	statusv1.RegisterStatusServiceServer(srv, &Server{})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	reflection.Register(srv)
	for service, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			if name := "/" + service + "/" + m.Name; methods[name] == 0 {
				t.Errorf("%s has no rule in methods", name)
			}
		}
	}
}
