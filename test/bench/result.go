package main

import (
	"fmt"
	"strings"
	"time"
)

// result is one measured run.
type result struct {
	messages int
	took     time.Duration
	p50, p99 time.Duration
	max      time.Duration
	// fromCall are the latencies from each message's own publish call,
	// where the messages said when their burst was handed over too.
	fromCall struct{ p50, p99, max time.Duration }
}

func measured(c *collector, messages int, took time.Duration) result {
	r := result{messages: messages, took: took}
	latencies, fromCall := c.recorded()
	r.p50, r.p99, r.max = percentilesOf(latencies)
	r.fromCall.p50, r.fromCall.p99, r.fromCall.max = percentilesOf(fromCall)
	return r
}

func (r result) rate() float64 { return float64(r.messages) / r.took.Seconds() }

func (r result) String() string {
	if r.max == 0 { // a drain measures throughput only
		return fmt.Sprintf("%8d msgs in %7.2fs = %8.0f msg/s", r.messages, r.took.Seconds(), r.rate())
	}
	return fmt.Sprintf("%8d msgs in %7.2fs = %8.0f msg/s   latency p50 %8s  p99 %8s  max %8s",
		r.messages, r.took.Seconds(), r.rate(), r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.max.Round(10*time.Microsecond))
}

// summary is every phase's figure, printed as the bench's last line.
type summary struct {
	raw, drain, oneTool result
	rawShaped           result // the raw ceiling with the bridge's properties: beside the ratios, not in them
	rawInBench          result // the raw ceiling with the client in the bench's process, as rounds one to nine measured it: beside the ratios too
	oneProcess          result // a one-process pipeline from Redis to MQTT (phase 1): beside the ratios too
	steady, rawSteady   result
	oneProcessSteady    result // the one-process pipeline at the steady rate (phase 4): beside the ratios
	ingestAlone         result
	// rounds are the raw ceiling and the drain in pairs (phases 1 and 2
	// the first); drain_ratio is the median pair's.
	rounds []drainRound
	maxRSS int64 // bytes, the largest service's peak in phase 2
}

func (s summary) String() string {
	m := s.ratioRound()
	return fmt.Sprintf("bench: drain_ratio=%.2f one_tool_ratio=%.2f p50_ratio=%.2f p99_ratio=%.2f max_rss_mib=%.1f"+
		" raw=%.0f/s drain=%.0f/s one_tool=%.0f/s p50=%s/%s p99=%s/%s raw_from_call=%s/%s ingest_alone=%.0f/s one_process=%.0f/s one_process_p99=%s raw_in_bench=%.0f/s",
		m.ratio(), s.oneTool.rate()/m.raw.rate(),
		ratio(s.steady.p50, s.rawSteady.p50), ratio(s.steady.p99, s.rawSteady.p99), mib(s.maxRSS),
		m.raw.rate(), m.drain.rate(), s.oneTool.rate(), ms(s.steady.p50), ms(s.rawSteady.p50), ms(s.steady.p99), ms(s.rawSteady.p99),
		ms(s.rawSteady.fromCall.p50), ms(s.rawSteady.fromCall.p99),
		s.ingestAlone.rate(), s.oneProcess.rate(), ms(s.oneProcessSteady.p99), s.rawInBench.rate())
}

// ratioRound is the pair of raw ceiling and drain that the ratios divide
// by and the summary prints: the median round, or phases 1 and 2 when
// only they were measured.
func (s summary) ratioRound() drainRound {
	if len(s.rounds) == 0 {
		return drainRound{raw: s.raw, drain: s.drain}
	}
	return medianRound(s.rounds)
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// partial is the summary of a run of some phases only: the figures those
// phases measured, and the ratios whose both sides were measured.
func (s summary) partial(phases map[int]bool) string {
	var f []string
	add := func(format string, a ...any) { f = append(f, fmt.Sprintf(format, a...)) }
	m := s.ratioRound()
	add("phases=%s", phasesText(phases))
	if phases[1] && phases[2] {
		add("drain_ratio=%.2f", m.ratio())
	}
	if phases[1] && phases[3] {
		add("one_tool_ratio=%.2f", s.oneTool.rate()/m.raw.rate())
	}
	if phases[4] {
		add("p50_ratio=%.2f p99_ratio=%.2f", ratio(s.steady.p50, s.rawSteady.p50), ratio(s.steady.p99, s.rawSteady.p99))
	}
	if phases[2] {
		add("max_rss_mib=%.1f", mib(s.maxRSS))
	}
	if phases[1] {
		add("raw=%.0f/s", m.raw.rate())
	}
	if phases[2] {
		add("drain=%.0f/s", m.drain.rate())
	}
	if phases[3] {
		add("one_tool=%.0f/s", s.oneTool.rate())
	}
	if phases[4] {
		add("p50=%s/%s p99=%s/%s raw_from_call=%s/%s", ms(s.steady.p50), ms(s.rawSteady.p50), ms(s.steady.p99), ms(s.rawSteady.p99),
			ms(s.rawSteady.fromCall.p50), ms(s.rawSteady.fromCall.p99))
	}
	if phases[5] {
		add("ingest_alone=%.0f/s", s.ingestAlone.rate())
	}
	if phases[1] {
		add("one_process=%.0f/s", s.oneProcess.rate())
	}
	if phases[4] {
		add("one_process_p99=%s", ms(s.oneProcessSteady.p99))
	}
	if phases[1] {
		add("raw_in_bench=%.0f/s", s.rawInBench.rate())
	}
	return "bench: " + strings.Join(f, " ")
}
