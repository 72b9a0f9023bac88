package status

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	grpcstatus "google.golang.org/grpc/status"
)

func TestAuthGuardsWritesAndOptionallyReads(t *testing.T) {
	with := func(header string) context.Context {
		return metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", header))
	}
	none := context.Background()
	tests := []struct {
		name        string
		auth        *Auth
		ctx         context.Context
		read, write codes.Code
	}{
		{"no token configured: all open", NewAuth("", false), none, codes.OK, codes.OK},
		{"token set, none sent", NewAuth("s3cret", false), none, codes.OK, codes.Unauthenticated},
		{"token set, right one sent", NewAuth("s3cret", false), with("Bearer s3cret"), codes.OK, codes.OK},
		{"token set, wrong one sent", NewAuth("s3cret", false), with("Bearer s3cre"), codes.OK, codes.Unauthenticated},
		{"not a bearer", NewAuth("s3cret", false), with("s3cret"), codes.OK, codes.Unauthenticated},
		{"reads protected, none sent", NewAuth("s3cret", true), none, codes.Unauthenticated, codes.Unauthenticated},
		{"reads protected, right one sent", NewAuth("s3cret", true), with("Bearer s3cret"), codes.OK, codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := grpcstatus.Code(tt.auth.read(tt.ctx)); got != tt.read {
				t.Errorf("read: %v, want %v", got, tt.read)
			}
			if got := grpcstatus.Code(tt.auth.write(tt.ctx)); got != tt.write {
				t.Errorf("write: %v, want %v", got, tt.write)
			}
		})
	}
}
