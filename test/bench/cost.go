package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/nemo-mqtt-bridge/bridge/test/harness"
)

// The cost of the drain: CPU time of every process on the path (the three
// services, redis-server, mosquitto) and the Go allocations of each
// service, per event drained. On two cores these add up to what bounds the
// drain: the raw ceiling pays only for mosquitto and one client.

// costPoint is one process's counters at one moment.
type costPoint struct {
	cpuTicks float64 // utime+stime from /proc/<pid>/stat, in clock ticks
	mallocs  float64 // go_memstats_mallocs_total; 0 for a process not in Go
}

// costProc is a process whose cost is measured; svc is nil for one that
// has no metrics (redis-server, mosquitto).
type costProc struct {
	name string
	pid  func() int
	svc  *harness.Service
}

func readCost(ps []costProc) []costPoint {
	out := make([]costPoint, len(ps))
	for i, p := range ps {
		out[i].cpuTicks = cpuTicks(p.pid())
		if p.svc != nil {
			out[i].mallocs, _ = p.svc.Metric("go_memstats_mallocs_total")
		}
	}
	return out
}

// printCost prints each process's CPU µs and allocations per event
// between two readings, after what (say, "per event drained").
func printCost(what string, ps []costProc, before, after []costPoint, events int) {
	const tick = 1e6 / 100 // µs per clock tick (USER_HZ is 100 on Linux)
	fmt.Printf("  cost %s:", what)
	var total float64
	for i, p := range ps {
		cpu := (after[i].cpuTicks - before[i].cpuTicks) * tick / float64(events)
		total += cpu
		fmt.Printf(" %s %.1fµs CPU", p.name, cpu)
		if p.svc != nil {
			fmt.Printf(" %.0f allocs", (after[i].mallocs-before[i].mallocs)/float64(events))
		}
		fmt.Print(";")
	}
	fmt.Printf(" in all %.1fµs CPU\n", total)
}

// thisProgram is the bench's own process: in the steady phases, the
// writer (XADD or the raw client) and the measuring subscriber.
var thisProgram = costProc{"this program", os.Getpid, nil}

// cpuTicks is the user and system CPU time of pid so far, 0 if unknown.
func cpuTicks(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count fields
	// from after it. utime and stime are fields 14 and 15 of the line.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return u + s
}

// publishedMessages is how many MQTT messages the publishers have had
// acknowledged so far: the events' own messages and the tools' status
// snapshots, less the snapshots a newer one replaced while they waited.
func publishedMessages(b *bridge) float64 {
	var n float64
	for _, pub := range b.pubs {
		v, _ := pub.Metric(`nemo_publisher_messages_total{result="ok"}`)
		n += v
	}
	return n
}

// printMessagesPerEvent prints the MQTT messages published per event
// drained: 1 plus the share of events whose tool's status snapshot went
// out, which the broker and the publisher pay for like any message.
func printMessagesPerEvent(b *bridge, before float64, events int) {
	fmt.Printf("  MQTT messages per event drained: %.2f (its own, and its tool's status snapshot unless a newer one replaced it)\n",
		(publishedMessages(b)-before)/float64(events))
}
