package status

import (
	"context"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
)

// Auth checks the bearer token. With no token configured everything is
// open: that suits a lab network and `make run`; a deployment sets one.
type Auth struct {
	token        string
	protectReads bool
}

// NewAuth protects writes with token (when not empty), and reads too when
// protectReads is set.
func NewAuth(token string, protectReads bool) *Auth {
	return &Auth{token: token, protectReads: protectReads}
}

// Enabled reports whether writes need a token.
func (a *Auth) Enabled() bool { return a.token != "" }

func (a *Auth) read(ctx context.Context) error {
	if !a.protectReads {
		return nil
	}
	return a.write(ctx)
}

// write accepts "authorization: Bearer TOKEN" in the gRPC metadata, where
// grpc-gateway also puts the HTTP Authorization header.
func (a *Auth) write(ctx context.Context) error {
	if a.token == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		given, ok := strings.CutPrefix(v, "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(given), []byte(a.token)) == 1 {
			return nil
		}
	}
	return grpcstatus.Error(codes.Unauthenticated, "this needs the admin token: send the header \"Authorization: Bearer <token>\"")
}
