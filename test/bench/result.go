package main

import (
	"fmt"
	"time"
)

// result is one measured run.
type result struct {
	messages int
	took     time.Duration
	p50, p99 time.Duration
	max      time.Duration
}

func measured(c *collector, messages int, took time.Duration) result {
	r := result{messages: messages, took: took}
	r.p50, r.p99, r.max = c.percentiles()
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
