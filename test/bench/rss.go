package main

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssSampler reads the resident set (VmRSS) of some processes every
// interval and keeps each one's peak, overall and in each period (see
// nextPeriod).
type rssSampler struct {
	pids       []int // 0: not sampled (yet)
	mu         sync.Mutex
	peak, last []int64   // bytes
	periods    [][]int64 // each period's peaks, the current one last
	stop, done chan struct{}
}

func sampleRSS(every time.Duration, pids ...int) *rssSampler {
	s := &rssSampler{pids: pids, peak: make([]int64, len(pids)), last: make([]int64, len(pids)),
		periods: [][]int64{make([]int64, len(pids))},
		stop:    make(chan struct{}), done: make(chan struct{})}
	s.sample()
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	s.mu.Lock()
	pids := slices.Clone(s.pids)
	s.mu.Unlock()
	for i, pid := range pids {
		if pid == 0 {
			continue
		}
		rss, err := vmRSS(pid)
		if err != nil {
			continue // exited; keep what was seen
		}
		s.mu.Lock()
		s.last[i], s.peak[i] = rss, max(s.peak[i], rss)
		cur := s.periods[len(s.periods)-1]
		cur[i] = max(cur[i], rss)
		s.mu.Unlock()
	}
}

// setPID starts sampling process i (one started after the sampler).
func (s *rssSampler) setPID(i, pid int) {
	s.mu.Lock()
	s.pids[i] = pid
	s.mu.Unlock()
	s.sample()
}

// nextPeriod takes a sample, closing the current period, and starts a new
// one.
func (s *rssSampler) nextPeriod() {
	s.sample()
	s.mu.Lock()
	s.periods = append(s.periods, make([]int64, len(s.pids)))
	s.mu.Unlock()
}

// periodPeaks are each period's peaks, per process, in order.
func (s *rssSampler) periodPeaks() [][]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]int64, len(s.periods))
	for i, p := range s.periods {
		out[i] = slices.Clone(p)
	}
	return out
}

// finish takes a last sample and stops; it returns each process's peak
// and its resident set now.
func (s *rssSampler) finish() (peak, last []int64) {
	close(s.stop)
	<-s.done
	s.sample()
	return s.peak, s.last
}

// vmRSS reads VmRSS from /proc/<pid>/status, in bytes.
func vmRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
