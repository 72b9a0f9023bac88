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

// costReading is every measured process's counters at one moment, and
// the machine's idle and stolen time: what the processes left unused
// says whether a phase was bound by CPU or by waiting, and what the
// hypervisor took from a virtual machine's cores, during which whatever
// ran on them stood still, how much of a tail is the host's.
type costReading struct {
	procs      []costPoint
	idleTicks  float64 // idle and iowait of all cores, from /proc/stat
	stealTicks float64 // steal of all cores, from /proc/stat
}

// costProc is a process whose cost is measured; svc is nil for one that
// has no metrics (redis-server, mosquitto). A child of this program is
// read through ticks instead of pid: its CPU time outlives it.
type costProc struct {
	name  string
	pid   func() int
	svc   *harness.Service
	ticks func() float64
}

func readCost(ps []costProc) costReading {
	out := costReading{procs: make([]costPoint, len(ps))}
	out.idleTicks, out.stealTicks = machineTicks()
	for i, p := range ps {
		if p.ticks != nil {
			out.procs[i].cpuTicks = p.ticks()
		} else {
			out.procs[i].cpuTicks = cpuTicks(p.pid())
		}
		if p.svc != nil {
			out.procs[i].mallocs, _ = p.svc.Metric("go_memstats_mallocs_total")
		}
	}
	return out
}

// spentNothing is a reading of ps with nothing spent: where add sums
// the costs of several stretches.
func spentNothing(ps []costProc) costReading {
	return costReading{procs: make([]costPoint, len(ps))}
}

// add adds to r what was spent between before and after.
func (r *costReading) add(before, after costReading) {
	for i := range r.procs {
		r.procs[i].cpuTicks += after.procs[i].cpuTicks - before.procs[i].cpuTicks
		r.procs[i].mallocs += after.procs[i].mallocs - before.procs[i].mallocs
	}
	r.idleTicks += after.idleTicks - before.idleTicks
	r.stealTicks += after.stealTicks - before.stealTicks
}

// printCost prints each process's CPU µs and allocations per event
// between two readings, after what (say, "per event drained"), the
// CPU time no process used, and the time the hypervisor took.
func printCost(what string, ps []costProc, before, after costReading, events int) {
	const tick = 1e6 / 100 // µs per clock tick (USER_HZ is 100 on Linux)
	fmt.Printf("  cost %s:", what)
	var total float64
	for i, p := range ps {
		cpu := (after.procs[i].cpuTicks - before.procs[i].cpuTicks) * tick / float64(events)
		total += cpu
		fmt.Printf(" %s %.1fµs CPU", p.name, cpu)
		if p.svc != nil {
			fmt.Printf(" %.0f allocs", (after.procs[i].mallocs-before.procs[i].mallocs)/float64(events))
		}
		fmt.Print(";")
	}
	fmt.Printf(" in all %.1fµs CPU; idle %.1fµs; stolen %.1fµs\n", total,
		(after.idleTicks-before.idleTicks)*tick/float64(events), (after.stealTicks-before.stealTicks)*tick/float64(events))
}

// thisProgram is the bench's own process: the measuring subscribers, and
// in the steady phase the writer of the events (XADD).
var thisProgram = costProc{name: "this program", pid: os.Getpid}

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

// machineTicks is the idle and iowait time of all cores so far, and the
// time the hypervisor ran something else on them, in clock ticks; 0 if
// unknown.
func machineTicks() (idle, steal float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseMachineTicks(line)
}

// parseMachineTicks reads the idle, iowait and steal fields of the "cpu"
// line of /proc/stat (steal is 0 outside a virtual machine).
func parseMachineTicks(line string) (idle, steal float64) {
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	idle, _ = strconv.ParseFloat(f[4], 64)
	iowait, _ := strconv.ParseFloat(f[5], 64)
	steal, _ = strconv.ParseFloat(f[8], 64)
	return idle + iowait, steal
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
