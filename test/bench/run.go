package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

type options struct {
	binDir         string
	events, tools  int
	oneToolEvents  int
	rate           int
	steady         time.Duration
	steadyRounds   int
	drainRounds    int
	brokerInFlight int
	brokerNoDelay  bool
	rawInFlight    int
	shards         int

	qos          int
	payloadBytes int
	tls          bool
	phases       map[int]bool

	memory       bool
	memoryEvents int
	outage       time.Duration

	profile *profiler // nil unless -profile
}

// bridge is the services of the pipeline: one publisher per shard.
type bridge struct {
	ingest, router *harness.Service
	pubs           []*harness.Service
}

// services are ingest, the router and the publishers, in that order.
func (b *bridge) services() []*harness.Service {
	return append([]*harness.Service{b.ingest, b.router}, b.pubs...)
}

// names name services() for the tables.
func (b *bridge) names() []string {
	names := []string{"ingest", "router"}
	for i := range b.pubs {
		names = append(names, b.pubName(i))
	}
	return names
}

func (b *bridge) pubName(i int) string {
	if len(b.pubs) == 1 {
		return "publisher"
	}
	return fmt.Sprintf("publisher-%d", i)
}

func (b *bridge) pids() []int {
	var pids []int
	for _, s := range b.services() {
		pids = append(pids, s.PID())
	}
	return pids
}

// startPublisherRouter starts the publishers, one per shard (to
// brokerURL), and the router, and waits until they are ready; ingest is
// started apart, so that a drain can be timed from its start.
func startPublisherRouter(env *harness.Env, o options, w workload, brokerURL, redisURL string) (*bridge, error) {
	br := &bridge{}
	var addrs []string
	for i := range max(1, o.shards) {
		args := []string{"-log-level", "warn", "-mqtt-url", brokerURL, "-mqtt-client-id", fmt.Sprintf("bench-bridge-%d", i)}
		if w.caFile != "" {
			args = append(args, "-mqtt-ca-file", w.caFile)
		}
		name := "publisher"
		if o.shards > 1 {
			name = fmt.Sprintf("publisher-%d", i)
		}
		pubProfile, err := o.profile.flags(name)
		if err != nil {
			return nil, err
		}
		pub, err := env.StartServiceAs(name, o.binDir, "publisher", append(args, pubProfile...)...)
		if err != nil {
			return nil, err
		}
		br.pubs = append(br.pubs, pub)
		addrs = append(addrs, pub.GRPCAddr)
	}
	routerProfile, err := o.profile.flags("router")
	if err != nil {
		return nil, err
	}
	br.router, err = env.StartService(o.binDir, "router", append([]string{"-log-level", "warn", "-publisher-addr", strings.Join(addrs, ";"), "-redis-url", redisURL}, routerProfile...)...)
	if err != nil {
		return nil, err
	}
	for _, s := range append([]*harness.Service{br.router}, br.pubs...) {
		if err := s.WaitReady(20 * time.Second); err != nil {
			return nil, err
		}
	}
	return br, nil
}

func (b *bridge) startIngest(env *harness.Env, o options, redisURL string) error {
	profile, err := o.profile.flags("ingest")
	if err != nil {
		return err
	}
	b.ingest, err = env.StartService(o.binDir, "ingest", append([]string{"-log-level", "warn", "-redis-url", redisURL, "-router-addr", b.router.GRPCAddr}, profile...)...)
	return err
}

// run measures the phases asked for, in order, against one redis-server
// and one mosquitto: 1 the raw MQTT ceiling, 2 the drain of a backlog over
// many tools (the services' resident sets sampled meanwhile), 3 the drain
// of a backlog for one tool, 4 steady-rate latency, the pipeline's and raw
// MQTT's, with each hop's share from the services' histograms. With
// -memory it runs the memory test instead (see runMemory).
func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "nemo-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := harness.NewEnv(dir)
	defer env.Close()
	redisSrv, err := env.StartRedis()
	if err != nil {
		return err
	}
	b, err := startBroker(env, o.brokerInFlight, o.brokerNoDelay, o.tls)
	if err != nil {
		return err
	}
	w := workload{qos: byte(o.qos), payloadBytes: o.payloadBytes}
	w.broker, _ = url.Parse("mqtt://" + b.addr)
	if o.tls {
		w.broker, _ = url.Parse("mqtts://" + b.addr)
		w.tls = &tls.Config{RootCAs: b.pki.Pool(), MinVersion: tls.VersionTLS12}
		w.caFile = b.pki.CAFile
	}
	what := "phases " + phasesText(o.phases)
	if o.memory {
		what = fmt.Sprintf("memory test: %d events", o.memoryEvents)
	}
	fmt.Printf("bench: %d cores, %s, mosquitto max_inflight_messages %s, set_tcp_nodelay %v, QoS %d, %s, %s, %d tools, %d publisher shard(s), %s\n\n",
		runtime.NumCPU(), runtime.Version(), inflightText(o.brokerInFlight), o.brokerNoDelay, o.qos, w.payloadText(), w.transport(), o.tools, max(1, o.shards), what)
	if o.memory {
		return runMemory(ctx, o, env, redisSrv, b, w)
	}

	var s summary
	brokerCost := costProc{name: "mosquitto", pid: b.proc.PID}
	if o.phases[1] {
		rawCPU := &childCPU{}
		rawCosts := []costProc{brokerCost, {name: "raw client", ticks: rawCPU.ticks}, thisProgram}
		costBefore := readCost(rawCosts)
		if s.raw, err = ceiling(ctx, w, o.events, o.rawInFlight, false, rawCPU); err != nil {
			return fmt.Errorf("raw MQTT ceiling: %w", err)
		}
		fmt.Printf("1 raw MQTT QoS%d ceiling (paho, %d in flight)          %s\n", o.qos, o.rawInFlight, s.raw)
		costBetween := readCost(rawCosts)
		printCost("per message", rawCosts, costBefore, costBetween, s.raw.messages)
		if s.rawShaped, err = ceiling(ctx, w, o.events, o.rawInFlight, true, rawCPU); err != nil {
			return fmt.Errorf("raw MQTT ceiling with the bridge's properties: %w", err)
		}
		fmt.Printf("  the same, each message with the bridge's properties  %s\n", s.rawShaped)
		printCost("per message", rawCosts, costBetween, readCost(rawCosts), s.rawShaped.messages)
		inBenchCosts := []costProc{brokerCost, thisProgram}
		costBefore = readCost(inBenchCosts)
		if s.rawInBench, err = ceilingInBench(ctx, w, o.events, o.rawInFlight); err != nil {
			return fmt.Errorf("raw MQTT ceiling in the bench's process: %w", err)
		}
		fmt.Printf("  the same, the client in this program's process beside its subscriber (rounds one to nine)  %s\n", s.rawInBench)
		printCost("per message", inBenchCosts, costBefore, readCost(inBenchCosts), s.rawInBench.messages)
		if err := runOneProcess(ctx, o, w, redisSrv, brokerCost, &s); err != nil {
			return err
		}
	}
	if !o.phases[2] && !o.phases[3] && !o.phases[4] {
		if o.phases[5] {
			if err := runIngestAlone(ctx, env, o, w, redisSrv, &s); err != nil {
				return err
			}
		}
		fmt.Println(s.partial(o.phases))
		return nil
	}

	rdb := redisSrv.Client(1)
	defer rdb.Close()
	c := newCollector()
	sub, err := subscribe(ctx, w, "nemo/tools/+/enabled", c)
	if err != nil {
		return err
	}
	defer sub.Disconnect(context.Background())

	next := 0
	if o.phases[2] {
		// The backlog is written before ingest starts, so the drain
		// measures the services and not how fast this program writes.
		if err := writeEvents(ctx, rdb, w, 0, o.events, spread(o.tools)); err != nil {
			return err
		}
		next = o.events
	}
	br, err := startPublisherRouter(env, o, w, w.broker.String(), redisSrv.URL(1))
	if err != nil {
		return err
	}
	costs := []costProc{
		{name: "ingest", pid: func() int {
			if br.ingest == nil {
				return 0 // not started yet: nothing spent
			}
			return br.ingest.PID()
		}},
		{name: "router", pid: br.router.PID, svc: br.router},
	}
	for i, pub := range br.pubs {
		costs = append(costs, costProc{name: br.pubName(i), pid: pub.PID, svc: pub})
	}
	costs = append(costs, costProc{name: "redis-server", pid: redisSrv.PID}, brokerCost, thisProgram)
	costBefore := readCost(costs)
	messagesBefore := publishedMessages(br)
	startedAt := time.Now()
	if err := br.startIngest(env, o, redisSrv.URL(1)); err != nil {
		return err
	}
	costs[0].svc = br.ingest // it starts with the drain: counted from zero
	if o.phases[2] {
		o.profile.startCPU(5 * time.Second)
		rss := sampleRSS(100*time.Millisecond, br.pids()...)
		last, got, err := settle(c, o.events, 60*time.Second, w.qos)
		peak, end := rss.finish()
		if err != nil {
			return fmt.Errorf("pipeline drain: %w\n%s", err, env.LogTails(20))
		}
		s.drain = result{messages: got, took: last.Sub(startedAt)}
		fmt.Printf("2 pipeline: drain %d events over %d tools         %s\n", o.events, o.tools, s.drain)
		fmt.Printf("  first message %s after ingest started\n", c.firstAt().Sub(startedAt).Round(time.Millisecond))
		if o.qos != 1 {
			fmt.Printf("  delivered to the subscriber: %s\n", c.deliveredText())
		}
		for i, name := range br.names() {
			fmt.Printf("  RSS %-11s peak %6.1f MiB, at the end of the drain %6.1f MiB\n", name, mib(peak[i]), mib(end[i]))
			s.maxRSS = max(s.maxRSS, peak[i])
		}
		printCost("per event drained", costs, costBefore, readCost(costs), got)
		printMessagesPerEvent(br, messagesBefore, got)
		o.profile.finish()
		if o.phases[1] {
			s.rounds = []drainRound{{raw: s.raw, drain: s.drain}}
			if o.drainRounds > 1 {
				fmt.Printf("2 the raw ceiling and the drain again, back to back, rounds 2 to %d (round 1 is phases 1 and 2 above)\n", o.drainRounds)
				more, after, err := moreDrainRounds(ctx, o, w, rdb, br, c, costs, next)
				if err != nil {
					return fmt.Errorf("%w\n%s", err, env.LogTails(20))
				}
				s.rounds, next = append(s.rounds, more...), after
				m := medianRound(s.rounds)
				fmt.Printf("  drain_ratio is the median of the %d rounds' (%s): %.2f, raw %.0f msg/s and drain %.0f events/s\n", len(s.rounds), roundsText(s.rounds), m.ratio(), m.raw.rate(), m.drain.rate())
			}
		}
	} else if err := br.ingest.WaitReady(20 * time.Second); err != nil {
		return err
	}

	if o.phases[3] {
		// One tool whose state the services have never seen, its backlog
		// written while ingest is stopped; ingest resumes its consumer group.
		var costBefore costReading
		var messagesBefore float64
		s.oneTool, startedAt, err = drainAgain(ctx, br, rdb, w, c, next, next+o.oneToolEvents, func(int) int { return o.tools }, func() {
			costBefore, messagesBefore = readCost(costs), publishedMessages(br) // ingest's new process counts from zero
			if !o.phases[2] {
				o.profile.startCPU(5 * time.Second)
			}
		})
		if err != nil {
			return fmt.Errorf("one-tool drain: %w\n%s", err, env.LogTails(20))
		}
		next += o.oneToolEvents
		got := s.oneTool.messages
		fmt.Printf("3 pipeline: drain %d events for one tool           %s\n", o.oneToolEvents, s.oneTool)
		fmt.Printf("  first message %s after ingest started\n", c.firstAt().Sub(startedAt).Round(time.Millisecond))
		printCost("per event drained", costs, costBefore, readCost(costs), got)
		printMessagesPerEvent(br, messagesBefore, got)
		if !o.phases[2] {
			o.profile.finish()
		}
	}

	if o.phases[4] {
		afterIdle, backToBack, err := measureWakeUps(300)
		if err != nil {
			return fmt.Errorf("wake-ups: %w", err)
		}
		fmt.Printf("4 machine: a round trip to another process over loopback TCP takes %s after %v idle, %s back to back; each hop between processes begins with half of one\n", afterIdle, burstGap, backToBack)
		throughRedis, err := measureRedisHops(ctx, rdb, redisSrv.URL(1), 300)
		if err != nil {
			return fmt.Errorf("round trips through Redis: %w", err)
		}
		fmt.Printf("4 machine: a round trip through Redis to another process (XADD, its blocked XREADGROUP, its XADD back) takes %s after %v idle; an XADD reaches a reader such as ingest in about half of one\n", throughRedis, burstGap)
		c.reset()
		before := scrapeAll(br)
		oneCPU, rawCPU := &childCPU{}, &childCPU{}
		one, err := startOneProcess(ctx, w, rdb, redisSrv.URL(1), oneProcessSteadyStream, "bench/one-process/", o.rawInFlight, oneCPU)
		if err != nil {
			return err
		}
		rawCosts := []costProc{brokerCost, {name: "raw client", ticks: rawCPU.ticks}, thisProgram}
		oneProcessCosts := []costProc{{name: "one process", ticks: oneCPU.ticks}, {name: "redis-server", pid: redisSrv.PID}, brokerCost, thisProgram}
		st, err := runSteady(ctx, o, w, rdb, c, next, one, rawCPU, costs, oneProcessCosts, rawCosts)
		if stopErr := one.stop(); err == nil {
			err = stopErr
		}
		if err != nil {
			return fmt.Errorf("%w\n%s", err, env.LogTails(20))
		}
		after := scrapeAll(br)
		s.steady, s.oneProcessSteady, s.rawSteady = st.pipeline, st.oneProcess, st.raw
		fmt.Printf("4 the pipeline, the one-process pipeline and raw MQTT in turns: %d of %s each, %d/s\n", max(1, o.steadyRounds), o.steady/time.Duration(max(1, o.steadyRounds)), o.rate)
		fmt.Printf("4 pipeline: steady %d events/s, XADD→subscriber   %s\n", o.rate, s.steady)
		printCost(fmt.Sprintf("per event at %d/s", o.rate), costs, spentNothing(costs), st.pipelineCost, s.steady.messages)
		fmt.Printf("4 one process: steady %d events/s, XADD→subscriber  %s\n", o.rate, s.oneProcessSteady)
		printCost(fmt.Sprintf("per event at %d/s", o.rate), oneProcessCosts, spentNothing(oneProcessCosts), st.oneProcessCost, s.oneProcessSteady.messages)
		fmt.Printf("4 raw MQTT: steady %d msgs/s, hand-over→subscriber %s\n", o.rate, s.rawSteady)
		call := s.rawSteady.fromCall
		fmt.Printf("  from each message's own publish call instead, its burst's earlier messages' publishing left out (rounds one to twelve): latency p50 %s p99 %s max %s\n",
			call.p50.Round(10*time.Microsecond), call.p99.Round(10*time.Microsecond), call.max.Round(10*time.Microsecond))
		printCost(fmt.Sprintf("per message at %d/s", o.rate), rawCosts, spentNothing(rawCosts), st.rawCost, s.rawSteady.messages)
		fmt.Printf("  p99: the pipeline's is %.2f times raw MQTT's (%.2f times it from each publish call) and %.2f times the one-process pipeline's, whose own is %.2f times raw MQTT's\n",
			ratio(s.steady.p99, s.rawSteady.p99), ratio(s.steady.p99, call.p99), ratio(s.steady.p99, s.oneProcessSteady.p99), ratio(s.oneProcessSteady.p99, s.rawSteady.p99))
		var rows []hopRow
		for i, name := range br.names() {
			if before[i].err != nil || after[i].err != nil {
				fmt.Printf("  (%s's metrics could not be read: %v)\n", name, errorsOf(before[i].err, after[i].err))
				continue
			}
			rows = append(rows, hopDeltas(name, before[i].series, after[i].series)...)
		}
		hopTable(os.Stdout, rows, st.pipelineMean, s.steady.p99)
	}
	if o.phases[5] {
		for _, svc := range br.services() {
			_ = svc.Stop() // ingest alone has the machine to itself
		}
		if err := runIngestAlone(ctx, env, o, w, redisSrv, &s); err != nil {
			return err
		}
		if o.phases[2] {
			fmt.Printf("  one ingest reads %.1f times as fast as the whole pipeline drains\n", s.ingestAlone.rate()/s.drain.rate())
		}
	}
	fmt.Println()
	if o.phases[1] && o.phases[2] {
		fmt.Printf("drain, round 1 (phases 1 and 2): %.0f%% of the raw ceiling, %.0f%% of raw MQTT with the bridge's properties, %.0f%% of the one-process pipeline, %.0f%% of the raw ceiling measured in the bench's process (each tool's status snapshot rides along: up to 2 MQTT messages per event)\n",
			100*s.drain.rate()/s.raw.rate(), 100*s.drain.rate()/s.rawShaped.rate(), 100*s.drain.rate()/s.oneProcess.rate(), 100*s.drain.rate()/s.rawInBench.rate())
	}
	if allPhases(o.phases) {
		fmt.Println(s)
	} else {
		fmt.Println(s.partial(o.phases))
	}
	return nil
}

// runOneProcess measures the one-process pipeline (see oneProcess)
// draining a backlog after the raw ceilings, and prints it with its cost.
// Like the raw ceiling, it is timed from when the connected client began.
func runOneProcess(ctx context.Context, o options, w workload, redisSrv *harness.Redis, brokerCost costProc, s *summary) error {
	rdb := redisSrv.Client(1)
	defer rdb.Close()
	if err := writeEventsTo(ctx, rdb, oneProcessStream, w, 0, o.events, spread(o.tools)); err != nil {
		return err
	}
	cpu := &childCPU{}
	costs := []costProc{{name: "one process", ticks: cpu.ticks}, {name: "redis-server", pid: redisSrv.PID}, brokerCost, thisProgram}
	before := readCost(costs)
	one, err := startOneProcess(ctx, w, rdb, redisSrv.URL(1), oneProcessStream, "", o.rawInFlight, cpu)
	if err != nil {
		return err
	}
	last, got, err := one.settle(o.events, w.qos)
	if stopErr := one.stop(); err == nil {
		err = stopErr
	}
	if err != nil {
		return fmt.Errorf("one-process pipeline: %w", err)
	}
	s.oneProcess = result{messages: got, took: last.Sub(one.started)}
	fmt.Printf("  one process, Redis to MQTT: XREADGROUP, publish (%d in flight), XACK  %s\n", o.rawInFlight, s.oneProcess)
	printCost("per event", costs, before, readCost(costs), s.oneProcess.messages)
	return nil
}

// runIngestAlone measures phase 5 and prints it.
func runIngestAlone(ctx context.Context, env *harness.Env, o options, w workload, redisSrv *harness.Redis, s *summary) error {
	rdb := redisSrv.Client(1)
	defer rdb.Close()
	var err error
	if s.ingestAlone, err = ingestAlone(ctx, env, o, w, rdb, redisSrv.URL(1), o.events); err != nil {
		return fmt.Errorf("ingest alone: %w", err)
	}
	fmt.Printf("5 ingest alone: drain %d events, router answering at once %s\n", o.events, s.ingestAlone)
	return nil
}

type scraped struct {
	series []hopSeries
	err    error
}

// scrapeAll reads the hop histograms of ingest, router and publisher.
func scrapeAll(br *bridge) []scraped {
	var out []scraped
	for _, s := range br.services() {
		series, err := scrapeHops(s.HTTPAddr)
		out = append(out, scraped{series, err})
	}
	return out
}

func errorsOf(errs ...error) string {
	var s []string
	for _, err := range errs {
		if err != nil {
			s = append(s, err.Error())
		}
	}
	return strings.Join(s, "; ")
}
