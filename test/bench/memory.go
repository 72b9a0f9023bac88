package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// runMemory is the memory test: a backlog of o.memoryEvents events over
// o.tools tools, written before ingest starts, drained by the three
// services while the gateway answers its REST API and the monitoring page
// a few times a second; once about a third has arrived the broker is
// stopped for o.outage and started again on the same port. VmRSS of the
// four services is sampled every 100 ms, and each one's peak before,
// during and after the outage is printed with its size at the end: the
// services' memory is bounded by their windows, not by the backlog.
//
// The publisher reaches the broker through a relay (see relay). Before the
// broker stops, the relay is cut and the measuring subscriber is given what
// the broker had already accepted; after the broker is back, it
// opens only once the subscriber has subscribed again. mosquitto 2.0 does
// not restore MQTT v5 sessions after a restart, so without that the
// subscriber (not the bridge) would lose what the broker held for it, and
// the test could not tell that every event arrived.
func runMemory(ctx context.Context, o options, env *harness.Env, redisSrv *harness.Redis, b *broker, w workload) error {
	rdb := redisSrv.Client(1)
	defer rdb.Close()
	c := newCollector()
	sub, err := subscribe(ctx, w, "nemo/tools/+/enabled", c)
	if err != nil {
		return err
	}
	defer sub.Disconnect(context.Background())

	n := o.memoryEvents
	began := time.Now()
	for from := 0; from < n; from += 100000 {
		if err := writeEvents(ctx, rdb, w, from, min(n, from+100000), spread(o.tools)); err != nil {
			return err
		}
	}
	fmt.Printf("backlog: %d events over %d tools written in %.1fs, before ingest starts\n", n, o.tools, time.Since(began).Seconds())

	gate, err := startRelay(b.addr)
	if err != nil {
		return err
	}
	defer gate.close()
	brokerURL := *w.broker
	brokerURL.Host = gate.addr
	br, err := startPublisherRouter(env, o, w, brokerURL.String(), redisSrv.URL(1))
	if err != nil {
		return err
	}
	startedAt := time.Now()
	if err := br.startIngest(env, o, redisSrv.URL(1)); err != nil {
		return err
	}
	names := append(br.names(), "gateway")
	rss := sampleRSS(100*time.Millisecond, append(br.pids(), 0)...)
	p := &harness.Pipeline{Env: env, Bin: o.binDir, Redis: redisSrv, Ingest: br.ingest, Router: br.router, Publisher: br.pubs[0]}
	gw, err := p.StartGateway("-log-level", "warn")
	if err != nil {
		rss.finish()
		return fmt.Errorf("gateway: %w\n%s", err, env.LogTails(20))
	}
	rss.setPID(len(names)-1, gw.PID())
	pollCtx, stopPolling := context.WithCancel(ctx)
	polls := pollGateway(pollCtx, "http://"+gw.HTTPAddr, o.tools)

	// About a third drained: the outage.
	third := n / 3
	for c.count() < third {
		if ctx.Err() != nil {
			stopPolling()
			rss.finish()
			return ctx.Err()
		}
		if time.Since(startedAt) > 10*time.Minute {
			stopPolling()
			rss.finish()
			return fmt.Errorf("only %d of %d events arrived in 10 minutes\n%s", c.count(), n, env.LogTails(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	beforeOutage := time.Since(startedAt)
	rss.nextPeriod()
	gate.cut()
	quiet(c, time.Second, 15*time.Second)
	atStop := c.count()
	if err := b.proc.Stop(); err != nil {
		fmt.Printf("  (mosquitto's exit: %v)\n", err)
	}
	fmt.Printf("outage: %d events had arrived after %.1fs; mosquitto stopped for %s\n", atStop, beforeOutage.Seconds(), o.outage)
	select {
	case <-time.After(o.outage):
	case <-ctx.Done():
		stopPolling()
		rss.finish()
		return ctx.Err()
	}
	if err := b.restart(); err != nil {
		stopPolling()
		rss.finish()
		return fmt.Errorf("restart mosquitto: %w", err)
	}
	for deadline := time.Now().Add(30 * time.Second); c.resubscribed.Load() == 0; {
		if time.Now().After(deadline) {
			stopPolling()
			rss.finish()
			return fmt.Errorf("the subscriber did not subscribe again within 30 s of the broker's restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	gate.reopen()
	rss.nextPeriod()
	outageEnded := time.Now()
	// How long the bridge takes to deliver again (its reconnect backoff).
	var resumed time.Duration = -1
	for time.Since(outageEnded) < 2*time.Minute && ctx.Err() == nil {
		if c.count() > atStop {
			resumed = time.Since(outageEnded)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	last, err := c.wait(n, 120*time.Second)
	got := c.count()
	stopPolling()
	rss.nextPeriod()
	_, end := rss.finish()
	stats := <-polls
	if err != nil {
		fmt.Printf("drain: %v\n%s\n", err, env.LogTails(20))
	}
	periods := rss.periodPeaks()
	fmt.Printf("drain: %d of %d distinct events arrived (%s); %.1fs in all, of which the broker was down %s; after the outage %.1fs\n",
		got, n, yesNo(got == n, "all arrived", "NOT all arrived"), last.Sub(startedAt).Seconds(), o.outage, last.Sub(outageEnded).Seconds())
	fmt.Printf("after the broker was back: first event after %.1fs, the rest at %.0f events/s\n",
		resumed.Seconds(), float64(got-atStop)/(last.Sub(outageEnded)-resumed).Seconds())
	// The last events' XACKs follow their arrival: wait for them, so that
	// what is left pending is what the bridge did not acknowledge.
	settled := waitAcknowledged(ctx, rdb, 10*time.Second)
	fmt.Printf("pending in Redis %s after the last event: %s\n\n", settled.Round(10*time.Millisecond), pendingText(ctx, rdb))
	fmt.Printf("  VmRSS (MiB)   %14s %14s %14s %10s\n", "peak before", "peak during", "peak after", "at the end")
	for i, name := range names {
		fmt.Printf("  %-12s  %14.1f %14.1f %14.1f %10.1f\n", name, mib(periods[0][i]), mib(periods[1][i]), mib(periods[2][i]), mib(end[i]))
	}
	fmt.Println()
	fmt.Println(stats)
	var peak int64
	for i := range names {
		peak = max(peak, periods[0][i], periods[1][i], periods[2][i])
	}
	fmt.Printf("bench memory: events=%d arrived=%d all=%t outage=%s max_rss_mib=%.1f\n", n, got, got == n, o.outage, mib(peak))
	if got != n {
		return fmt.Errorf("%d of %d events arrived", got, n)
	}
	return nil
}

// quiet waits until nothing new arrived for idle (at most for limit).
func quiet(c *collector, idle, limit time.Duration) {
	deadline := time.Now().Add(limit)
	prev, since := c.count(), time.Now()
	for time.Now().Before(deadline) && time.Since(since) < idle {
		time.Sleep(50 * time.Millisecond)
		if n := c.count(); n != prev {
			prev, since = n, time.Now()
		}
	}
}

func yesNo(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

// pendingText is the stream's length and what ingest's consumer group
// has not read or not acknowledged.
// waitAcknowledged waits, up to limit, until no group of the stream has
// entries unread or pending, and returns how long it waited.
func waitAcknowledged(ctx context.Context, rdb *redis.Client, limit time.Duration) time.Duration {
	start := time.Now()
	for time.Since(start) < limit && ctx.Err() == nil {
		groups, err := rdb.XInfoGroups(ctx, nemoStream).Result()
		if err != nil {
			break
		}
		open := false
		for _, g := range groups {
			open = open || g.Pending > 0 || g.Lag > 0
		}
		if !open {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

func pendingText(ctx context.Context, rdb *redis.Client) string {
	length, err := rdb.XLen(ctx, nemoStream).Result()
	if err != nil {
		return err.Error()
	}
	groups, err := rdb.XInfoGroups(ctx, nemoStream).Result()
	if err != nil {
		return err.Error()
	}
	var g []string
	for _, gr := range groups {
		g = append(g, fmt.Sprintf("group %s: %d unread, %d pending", gr.Name, gr.Lag, gr.Pending))
	}
	return fmt.Sprintf("stream length %d; %s", length, strings.Join(g, "; "))
}

// pollStats counts the gateway's answers per endpoint.
type pollStats struct {
	mu       sync.Mutex
	ok, fail map[string]int
	// unknown counts 404s for a tool before its state was first
	// answered: the drain had not reached it yet.
	unknown   map[string]int
	known     map[string]bool // tools whose state was answered once
	slowest   map[string]time.Duration
	lastErr   map[string]string
	liveBytes atomic.Int64
	liveEvts  atomic.Int64
	liveConns atomic.Int64
}

func (p *pollStats) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "gateway, polled throughout (REST and the page's HTML and data, as an open page would):\n")
	keys := make([]string, 0, len(p.ok)+len(p.fail))
	for k := range p.ok {
		keys = append(keys, k)
	}
	for k := range p.fail {
		if _, ok := p.ok[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  GET %-26s %6d answered 200, %4d failed, slowest %s", k, p.ok[k], p.fail[k], p.slowest[k].Round(time.Millisecond))
		if n := p.unknown[k]; n > 0 {
			fmt.Fprintf(&b, "; %d answered 404 for a tool the drain had not reached yet", n)
		}
		if e := p.lastErr[k]; e != "" {
			fmt.Fprintf(&b, " (last failure: %s)", e)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "  GET %-26s %d stream(s) opened, %d events, %d bytes read", "/v1/live", p.liveConns.Load(), p.liveEvts.Load(), p.liveBytes.Load())
	return b.String()
}

// pollGateway asks the gateway what a REST client and an open monitoring
// page ask (the page's HTML, health, every tool, one tool's state, the
// recent messages, the dead letters), each about four times a second, and
// keeps the page's live stream open, until ctx ends; then it sends its
// counts.
func pollGateway(ctx context.Context, base string, tools int) <-chan *pollStats {
	st := &pollStats{ok: map[string]int{}, fail: map[string]int{}, unknown: map[string]int{}, known: map[string]bool{},
		slowest: map[string]time.Duration{}, lastErr: map[string]string{}}
	out := make(chan *pollStats, 1)
	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			paths := []string{"/", "/v1/health", "/v1/tools?page_size=1000", fmt.Sprintf("/v1/tools/%d", 1+i%max(1, tools-1)),
				"/v1/messages?limit=100", "/v1/dead-letters?limit=50"}
			for _, path := range paths {
				key := path
				if strings.HasPrefix(path, "/v1/tools/") {
					key = "/v1/tools/{id}"
				}
				began := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
				resp, err := client.Do(req)
				if ctx.Err() != nil {
					return
				}
				notYet := false
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					notYet = err == nil && key != path && resp.StatusCode == http.StatusNotFound
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s", resp.Status)
					}
				}
				took := time.Since(began)
				st.mu.Lock()
				if notYet && !st.known[path] {
					st.unknown[key]++
				} else if err != nil {
					st.fail[key]++
					st.lastErr[key] = err.Error()
				} else {
					st.ok[key]++
					st.known[path] = true
				}
				st.slowest[key] = max(st.slowest[key], took)
				st.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/live", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				time.Sleep(time.Second)
				continue
			}
			st.liveConns.Add(1)
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 16<<20)
			for sc.Scan() {
				st.liveBytes.Add(int64(len(sc.Bytes()) + 1))
				if strings.HasPrefix(sc.Text(), "event:") {
					st.liveEvts.Add(1)
				}
			}
			resp.Body.Close()
		}
	}()
	go func() {
		wg.Wait()
		out <- st
	}()
	return out
}
