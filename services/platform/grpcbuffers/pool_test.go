package grpcbuffers

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// shared is the pool under test, installed as gRPC's default the way the
// services install theirs (the codec encodes in the default pool).
var shared = New()

func init() { experimental.SetDefaultBufferPool(shared) }

func TestGetGivesTheLengthAskedFromTheSmallestTierThatHoldsIt(t *testing.T) {
	for _, c := range []struct{ n, cap int }{
		{0, 256}, {1, 256}, {256, 256}, {257, 512}, {4 << 10, 4 << 10}, {4<<10 + 1, 8 << 10},
		{100 << 10, 128 << 10}, {1 << 20, 1 << 20}, {1<<20 + 1, 2 << 20}, {4 << 20, 4 << 20}, {4<<20 + 1, 4<<20 + 1},
	} {
		buf := New().Get(c.n)
		if len(*buf) != c.n || cap(*buf) != c.cap {
			t.Errorf("Get(%d): len %d cap %d, want len %d cap %d", c.n, len(*buf), cap(*buf), c.n, c.cap)
		}
	}
}

// A buffer whose capacity is no tier's size is not pooled: Get would
// hand it out for a size it cannot hold.
func TestABufferOfAnotherCapacityIsNotPooled(t *testing.T) {
	p := New()
	for _, c := range []int{300, 1<<20 - 1, 8 << 20} {
		odd := make([]byte, c)
		p.Put(&odd)
		for range 10 {
			if got := p.Get(c); cap(*got) == c && &(*got)[:1][0] == &odd[0] {
				t.Fatalf("a %d-byte buffer was pooled and handed out again", c)
			}
		}
	}
}

// A buffer put back is handed out again, at the length now asked for.
func TestABufferPutBackIsHandedOutAgain(t *testing.T) {
	p := New()
	for range 100 { // sync.Pool may drop an item (it does at random under -race)
		buf := p.Get(3000)
		(*buf)[0] = 'x'
		p.Put(buf)
		again := p.Get(2100)
		if again == buf {
			if len(*again) != 2100 {
				t.Fatalf("reused buffer has length %d, want 2100", len(*again))
			}
			return
		}
	}
	t.Fatal("no buffer was reused in 100 rounds")
}

// Messages of every size, from empty to past the largest tier, cross a
// gRPC stream both ways whole and unchanged while the same buffers are
// reused dirty for frames, encoding and decoding.
func TestMessagesCrossGRPCWholeOverReusedBuffers(t *testing.T) {
	lis := bufconn.Listen(1 << 20)
	echo := grpc.StreamDesc{StreamName: "Echo", ServerStreams: true, ClientStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			for {
				m := new(wrapperspb.BytesValue)
				if err := stream.RecvMsg(m); err != nil {
					return nil
				}
				if err := stream.SendMsg(m); err != nil {
					return err
				}
			}
		}}
	srv := grpc.NewServer(experimental.BufferPool(shared))
	srv.RegisterService(&grpc.ServiceDesc{ServiceName: "test.Echo", HandlerType: (*any)(nil), Streams: []grpc.StreamDesc{echo}}, nil)
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		experimental.WithBufferPool(shared))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := conn.NewStream(t.Context(), &echo, "/test.Echo/Echo")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 255, 256, 257, 4095, 4096, 16 << 10, 16<<10 + 9, 32 << 10, 1 << 20, 3 << 20}
	for range 200 {
		sizes = append(sizes, rng.IntN(40<<10))
	}
	for i, n := range sizes {
		sent := &wrapperspb.BytesValue{Value: bytes.Repeat([]byte{byte(i)}, n)}
		if err := stream.SendMsg(sent); err != nil {
			t.Fatalf("message %d (%d bytes): send: %v", i, n, err)
		}
		got := new(wrapperspb.BytesValue)
		if err := stream.RecvMsg(got); err != nil {
			t.Fatalf("message %d (%d bytes): receive: %v", i, n, err)
		}
		if !bytes.Equal(got.GetValue(), sent.GetValue()) {
			t.Fatalf("message %d (%d bytes of %d) came back as %d bytes, first %x", i, n, byte(i), len(got.GetValue()), got.GetValue()[:min(8, len(got.GetValue()))])
		}
	}
}
