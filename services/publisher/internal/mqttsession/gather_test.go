package mqttsession

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/google/go-cmp/cmp"
)

// backlog is the session state for the ack reader's tests: waiting is how
// many messages it says are unanswered, take gets each answer.
type backlog struct {
	waiting atomic.Int64
	take    func(*packets.ControlPacket)
}

func (b *backlog) takeAnswer(cp *packets.ControlPacket) { b.take(cp) }
func (b *backlog) unanswered() int                      { return int(b.waiting.Load()) }

// Under a backlog the session's connection lets the broker's answers
// gather before each read of the socket, not before each answer. Over
// TLS, whose connection hands its reader one record (one answer) a read,
// the pause used to come after every answer: a drain ran at 1,300
// events/s instead of 20,000. Three PUBACKs, each written on its own (its
// own TLS record), wait in the socket: they are taken after one pause,
// and the next pause comes only before the socket is read again; with
// fewer messages waiting there is no pause.
func TestAnswersGatherOncePerReadOfTheSocketAlsoOverTLS(t *testing.T) {
	ca := newTestCA(t, "test CA")
	certPEM, keyPEM := issueForIP(t, ca, net.IPv4(127, 0, 0, 1))
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	backlogged := []string{"gather", "take 1", "take 2", "take 3", "gather"}
	for _, tc := range []struct {
		name    string
		tls     bool
		waiting int
		want    []string
	}{
		{"plain, a backlog", false, gatherAbove, backlogged},
		{"TLS, a backlog", true, gatherAbove, backlogged},
		{"plain, few waiting", false, gatherAbove - 1, []string{"take 1", "take 2", "take 3"}},
		{"TLS, few waiting", true, gatherAbove - 1, []string{"take 1", "take 2", "take 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			write, written := make(chan struct{}), make(chan error, 1)
			var server sync.WaitGroup
			server.Go(func() {
				conn, err := ln.Accept()
				if err != nil {
					written <- err
					return
				}
				defer conn.Close()
				if tc.tls {
					tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{pair}})
					if err := tc.Handshake(); err != nil {
						written <- err
						return
					}
					conn = tc
				}
				<-write
				for id := byte(1); id <= 3; id++ {
					if _, err := conn.Write([]byte{0x40, 0x02, 0x00, id}); err != nil {
						written <- err
						return
					}
				}
				written <- nil
				_, _ = conn.Read(make([]byte, 1)) // until the client closes
			})
			defer server.Wait()

			var got []string
			answers := &backlog{}
			raw, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			conn := quickAck(raw, gatherer(answers, func() { got = append(got, "gather") }))
			if tc.tls {
				tc := tls.Client(conn, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
				if err := tc.Handshake(); err != nil {
					t.Fatal(err)
				}
				conn = tc
			}
			answers.take = func(cp *packets.ControlPacket) {
				id := cp.Content.(*packets.Puback).PacketID
				got = append(got, fmt.Sprintf("take %d", id))
				if id == 3 {
					raw.Close() // the next read of the socket fails
				}
			}
			answers.waiting.Store(int64(tc.waiting))
			close(write)
			if err := <-written; err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // every answer is in the socket before the first read
			if _, err := packets.ReadPacket(takeAcks(conn, answers)); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("ReadPacket = %v, want the closed connection's error once every answer went to the session state", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
