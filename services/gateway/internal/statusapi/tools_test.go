package statusapi

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestPageSizeAndToken(t *testing.T) {
	for _, tt := range []struct {
		in   int32
		want int
		code codes.Code
	}{{0, 100, codes.OK}, {5, 5, codes.OK}, {5000, 1000, codes.OK}, {-1, 0, codes.InvalidArgument}} {
		got, err := pageSize(tt.in)
		if got != tt.want || status.Code(err) != tt.code {
			t.Errorf("pageSize(%d) = %d, %v", tt.in, got, err)
		}
	}
	for _, tt := range []struct {
		token string
		want  int32
		code  codes.Code
	}{{"", 0, codes.OK}, {"12", 12, codes.OK}, {"x", 0, codes.InvalidArgument}, {"-3", 0, codes.InvalidArgument}, {"99999999999", 0, codes.InvalidArgument}} {
		got, err := pageAfter(tt.token)
		if got != tt.want || status.Code(err) != tt.code {
			t.Errorf("pageAfter(%q) = %d, %v", tt.token, got, err)
		}
	}
}
