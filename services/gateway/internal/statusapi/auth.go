package statusapi

import (
	"context"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// access is who may call a method.
type access int

const (
	// open: anyone; the probes and API discovery, which tell nothing
	// about the lab (the OpenAPI document is public too).
	open access = iota + 1
	// read: anyone, or only holders of the admin token with
	// -protect-reads.
	read
	// write: holders of the admin token only. Every call that changes
	// something, or makes the bridge do something (a test message goes
	// out on the broker), is a write.
	write
)

// methods says who may call each method of every service the gateway's
// gRPC servers answer. A method missing here is refused to everyone: a
// method added to the proto stays closed until someone decides, here,
// who may call it (a test checks that every method is listed).
var methods = map[string]access{
	statusv1.StatusService_GetTool_FullMethodName:              read,
	statusv1.StatusService_ListTools_FullMethodName:            read,
	statusv1.StatusService_GetHealth_FullMethodName:            read,
	statusv1.StatusService_ListMessages_FullMethodName:         read,
	statusv1.StatusService_ListDeadLetters_FullMethodName:      read,
	statusv1.StatusService_GetRules_FullMethodName:             read,
	statusv1.StatusService_DryRunRules_FullMethodName:          read, // routes one event on paper, publishes nothing
	statusv1.StatusService_GetDisplay_FullMethodName:           read,
	statusv1.StatusService_ListSites_FullMethodName:            read,
	statusv1.StatusService_ReplayDeadLetter_FullMethodName:     write,
	statusv1.StatusService_ReplayAllDeadLetters_FullMethodName: write,
	statusv1.StatusService_ReloadRules_FullMethodName:          write,
	statusv1.StatusService_SendTestMessage_FullMethodName:      write,

	healthpb.Health_Check_FullMethodName:                                   open,
	healthpb.Health_List_FullMethodName:                                    open,
	healthpb.Health_Watch_FullMethodName:                                   open,
	reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName:      open,
	reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName: open,
}

// Auth is the one check of every call, on every way in: its interceptors
// run on the gateway's gRPC server and on the in-process one behind REST
// and the live stream. Writes always need the bearer token; reads need it
// too when protectReads is set.
type Auth struct {
	token        string
	protectReads bool
}

// NewAuth checks calls against token. An empty token lets no write
// through (the gateway always has one: it makes one when none is given).
func NewAuth(token string, protectReads bool) *Auth {
	return &Auth{token: token, protectReads: protectReads}
}

// Unary is the check as a unary server interceptor.
func (a *Auth) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := a.check(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// Stream is the check as a stream server interceptor.
func (a *Auth) Stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := a.check(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}

func (a *Auth) check(ctx context.Context, method string) error {
	switch methods[method] {
	case open:
		return nil
	case read:
		if !a.protectReads {
			return nil
		}
		return a.bearer(ctx)
	case write:
		return a.bearer(ctx)
	}
	return status.Errorf(codes.PermissionDenied, "%s is refused: the gateway has no rule saying who may call it", method)
}

// bearer accepts "authorization: Bearer TOKEN" in the gRPC metadata, where
// grpc-gateway also puts the HTTP Authorization header. The error never
// repeats what was sent.
func (a *Auth) bearer(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		given, ok := strings.CutPrefix(v, "Bearer ")
		if ok && a.token != "" && subtle.ConstantTimeCompare([]byte(given), []byte(a.token)) == 1 {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "this needs the admin token: send the header \"Authorization: Bearer <token>\"")
}
