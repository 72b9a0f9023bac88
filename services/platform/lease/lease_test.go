package lease

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
)

var quiet = slog.New(slog.DiscardHandler)

// The lease's time runs from when the last renewal was sent, however late
// its reply came: counted lost at 8/10 of the TTL, off the broker by 9/10,
// both before Redis may expire it.
func TestValidityCountsFromTheSendingOfTheRenewal(t *testing.T) {
	sent := time.Now()
	v := validity{ttl: 10 * time.Second, sent: sent}
	if got := v.lostAt().Sub(sent); got != 8*time.Second {
		t.Errorf("lost %s after the renewal was sent, want 8s", got)
	}
	if got := v.dropBy().Sub(sent); got != 9*time.Second {
		t.Errorf("off the broker %s after the renewal was sent, want 9s", got)
	}
	for _, c := range []struct {
		after time.Duration
		held  bool
	}{{0, true}, {7999 * time.Millisecond, true}, {8 * time.Second, false}, {time.Minute, false}} {
		if got := v.held(sent.Add(c.after)); got != c.held {
			t.Errorf("%s after the renewal was sent: held %t, want %t", c.after, got, c.held)
		}
	}
	if (validity{ttl: 10 * time.Second}).held(sent) {
		t.Error("a lease never acquired (or released) counts as held")
	}
}

// call gives up at its deadline even when the call itself never returns.
func TestCallReturnsByItsDeadline(t *testing.T) {
	start := time.Now()
	block := make(chan struct{})
	defer close(block)
	_, err := call(context.Background(), start.Add(100*time.Millisecond), func(ctx context.Context) (int, error) {
		<-block // deaf to ctx, as a client ignoring deadlines is
		return 1, nil
	})
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > time.Second {
		t.Fatalf("returned %v after %s, want the deadline after 100ms", err, took)
	}
}

// A black-holed Redis (the connection open, no answer) while the lease is
// held: Keep reports the loss by the lease's count, early enough to leave
// the broker, even with a client that does not honour deadlines and would
// wait for its ReadTimeout.
func TestKeepReportsTheLossWhenRedisGoesSilent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // read nothing, answer nothing
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ReadTimeout: time.Minute, MaxRetries: -1})
	defer rdb.Close()
	l := New(rdb, records.PublisherLease("silent"), "publisher", 2*time.Second, quiet)
	sent := time.Now()
	l.setSent(sent) // as if just acquired
	if !l.Held() {
		t.Fatal("not held right after acquiring")
	}
	err = l.Keep(context.Background())
	took := time.Since(sent)
	if !errors.Is(err, ErrLost) {
		t.Fatalf("Keep returned %v, want ErrLost", err)
	}
	if took < 1600*time.Millisecond || took >= l.DropBy().Sub(sent) {
		t.Fatalf("loss reported %s after the last renewal was sent, want from 1.6s and before the deadline to leave the broker (%s)", took, l.DropBy().Sub(sent))
	}
	if l.Held() {
		t.Fatal("still held once lost")
	}
}

// A renewal whose reply comes late counts from when it was sent, not from
// when the reply came: Redis may have applied it as early as that.
func TestALateReplyCountsFromTheSending(t *testing.T) {
	rdb := startRedis(t)
	replied := make(chan time.Time, 10)
	rdb.AddHook(lateReplies{delay: 300 * time.Millisecond, replied: replied})
	l := New(rdb, records.PublisherLease("late"), "publisher", 3*time.Second, quiet)
	l.oldFence = "" // no earlier version's fence to carry over: the acquisition's reply comes first
	if _, err := l.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	acquiredReply := <-replied
	acquired := l.current().sent
	if acquiredReply.Sub(acquired) < 300*time.Millisecond {
		t.Fatalf("acquisition counted from %s before its reply, want from its sending, 300ms or more before", acquiredReply.Sub(acquired))
	}
	ctx, cancel := context.WithCancel(context.Background())
	kept := make(chan error, 1)
	go func() { kept <- l.Keep(ctx) }()
	renewalReply := <-replied // the first renewal, a third of the TTL on
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-kept; err != nil {
		t.Fatal(err)
	}
	sent := l.current().sent
	if !sent.After(acquired) {
		t.Fatal("the renewal did not count")
	}
	if gap := renewalReply.Sub(sent); gap < 300*time.Millisecond || gap > time.Second {
		t.Fatalf("renewal counted from %s before its reply, want from its sending, 300ms before", gap)
	}
}

// lateReplies holds every reply back, and tells when it let a successful
// one through.
type lateReplies struct {
	delay   time.Duration
	replied chan<- time.Time
}

func (lateReplies) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h lateReplies) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		time.Sleep(h.delay)
		if err == nil { // not the NOSCRIPT of a script's first EVALSHA
			h.replied <- time.Now()
		}
		return err
	}
}

func (lateReplies) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// One publisher holds the lease, the other stands by; a release lets the
// standby in at once, with a higher fencing number.
func TestOneHoldsTheOtherStandsBy(t *testing.T) {
	rdb := startRedis(t)
	a, b := New(rdb, records.PublisherLease("pair"), "publisher", 5*time.Second, quiet), New(rdb, records.PublisherLease("pair"), "publisher", 5*time.Second, quiet)
	first, err := a.Acquire(context.Background())
	if err != nil || !a.Held() {
		t.Fatalf("first acquire: fence %d, %v, held %t", first, err, a.Held())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := b.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) || b.Held() {
		t.Fatalf("the second acquired a held lease (%v)", err)
	}
	a.Release(context.Background())
	if a.Held() {
		t.Fatal("held after release")
	}
	start := time.Now()
	second, err := b.Acquire(context.Background())
	if err != nil || second <= first || time.Since(start) > time.Second {
		t.Fatalf("after the release: fence %d (first %d), %v, after %s", second, first, err, time.Since(start))
	}
}

// The fence shares the lease's Redis Cluster hash slot, and the fence of
// an earlier version, under its old name, is carried over by the first
// acquisition: the count goes on from it, never back.
func TestAcquireCarriesTheOldFenceOver(t *testing.T) {
	key := records.PublisherLease("bridge-1")
	if key != "nemo:bridge:lease:bridge-1" || Fence(key) != "{nemo:bridge:lease:bridge-1}:fence" || !records.SameSlot(key, Fence(key)) {
		t.Fatalf("fence %q, lease %q: not the names of before, or not in one slot", Fence(key), key)
	}
	rdb := startRedis(t)
	ctx := context.Background()
	if err := rdb.Set(ctx, "nemo:bridge:lease:upgraded:fence", 41, 0).Err(); err != nil {
		t.Fatal(err)
	}
	l := New(rdb, records.PublisherLease("upgraded"), "publisher", 5*time.Second, quiet)
	if fence, err := l.Acquire(ctx); err != nil || fence != 42 {
		t.Fatalf("first acquisition after the upgrade: fence %d, %v; want 42", fence, err)
	}
	if n := rdb.Exists(ctx, "nemo:bridge:lease:upgraded:fence").Val(); n != 0 {
		t.Fatal("the old fence is still there")
	}
	if got := rdb.Get(ctx, Fence(records.PublisherLease("upgraded"))).Val(); got != "42" {
		t.Fatalf("the fence holds %s, want 42", got)
	}
}

// A lease taken by another publisher (this one paused past its TTL) is
// lost at the next renewal, which does not extend the other's.
func TestKeepReportsALeaseTakenMeanwhile(t *testing.T) {
	rdb := startRedis(t)
	l := New(rdb, records.PublisherLease("taken"), "publisher", 3*time.Second, quiet)
	if _, err := l.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(context.Background(), l.key, "another/1/publisher", 0).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := l.Keep(context.Background()); !errors.Is(err, ErrLost) || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("Keep returned %v after %s, want ErrLost at the first renewal", err, time.Since(start))
	}
	if ttl := rdb.PTTL(context.Background(), l.key).Val(); ttl != -1 {
		t.Fatalf("the other's lease got a TTL of %s", ttl)
	}
}

// When the fence cannot be counted (INCR fails), the lease stays free: the
// publisher neither holds it in Redis while standing by, nor gives up.
func TestAcquireLeavesTheLeaseFreeWhenTheFenceFails(t *testing.T) {
	rdb := startRedis(t)
	l := New(rdb, records.PublisherLease("fence"), "publisher", 3*time.Second, quiet)
	if err := rdb.Set(context.Background(), l.fence, "not a number", 0).Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := l.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) || l.Held() {
		t.Fatalf("acquired with a broken fence (%v)", err)
	}
	if err := rdb.Get(context.Background(), l.key).Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("the lease key is set (%v)", err)
	}
	rdb.Del(context.Background(), l.fence)
	if fence, err := l.Acquire(context.Background()); err != nil || fence != 1 {
		t.Fatalf("once the fence is mended: fence %d, %v", fence, err)
	}
}

// An acquisition whose reply was lost left the lease this publisher's in
// Redis: the next attempt takes it at once, not after the TTL.
func TestAcquireTakesBackItsOwnLease(t *testing.T) {
	rdb := startRedis(t)
	l := New(rdb, records.PublisherLease("own"), "publisher", time.Minute, quiet)
	if err := rdb.Set(context.Background(), l.key, l.token, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := l.Acquire(ctx); err != nil || !l.Held() {
		t.Fatalf("own lease not taken back: %v", err)
	}
}

// startRedis runs a redis-server of the test's own on a Unix socket, so
// that it takes no port anyone else could want.
func startRedis(t *testing.T) *redis.Client {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server): %v", err)
	}
	dir, err := os.MkdirTemp("", "lease") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	socket := filepath.Join(dir, "redis.sock")
	cmd := exec.Command("redis-server", "--port", "0", "--unixsocket", socket, "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: socket, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return rdb
}
