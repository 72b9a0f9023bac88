package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The per-hop table: each service's Prometheus histograms of its stages
// (`*_stage_seconds`) and of how old an entry is when read
// (`*_age_seconds`), scraped before and after the steady phase; the mean
// of each series over the phase is Δsum/Δcount. The parser reads the
// Prometheus text format itself (no client library in this module), and
// only what the table needs: the _sum, _count and _bucket lines of those
// histograms, whatever their names and labels.

// hopSeries is one histogram series' sum, count and buckets.
type hopSeries struct {
	family  string // e.g. nemo_router_stage_seconds
	labels  string // canonical: k="v" pairs sorted by name, `le` left out
	sum     float64
	count   float64
	buckets []bucket // as exposed: by le, +Inf last
}

// bucket is a cumulative histogram bucket: count observations were at
// most le seconds.
type bucket struct{ le, count float64 }

func (h hopSeries) key() string { return h.family + "{" + h.labels + "}" }

// isHopFamily says whether a histogram belongs in the table.
func isHopFamily(family string) bool {
	return strings.HasSuffix(family, "_stage_seconds") || strings.HasSuffix(family, "_age_seconds")
}

// parseHops reads Prometheus text exposition and returns the series of the
// hop histograms, in the order they first appear.
func parseHops(r io.Reader) ([]hopSeries, error) {
	var out []hopSeries
	index := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, le, value, ok := parseSample(line)
		if !ok {
			continue
		}
		var family, part string
		for _, suffix := range []string{"_sum", "_count", "_bucket"} {
			if strings.HasSuffix(name, suffix) {
				family, part = strings.TrimSuffix(name, suffix), suffix
			}
		}
		if family == "" {
			continue
		}
		if !isHopFamily(family) {
			continue
		}
		s := hopSeries{family: family, labels: labels}
		i, seen := index[s.key()]
		if !seen {
			i = len(out)
			index[s.key()] = i
			out = append(out, s)
		}
		switch part {
		case "_sum":
			out[i].sum = value
		case "_count":
			out[i].count = value
		case "_bucket":
			bound, err := strconv.ParseFloat(le, 64)
			if err != nil {
				continue
			}
			out[i].buckets = append(out[i].buckets, bucket{le: bound, count: value})
		}
	}
	return out, sc.Err()
}

// parseSample splits `name{k="v",...} value [timestamp]`; labels come back
// canonical (sorted, `le` left out, values re-quoted), and le apart.
func parseSample(line string) (name, labels, le string, value float64, ok bool) {
	end := strings.IndexAny(line, "{ \t")
	if end <= 0 {
		return "", "", "", 0, false
	}
	name, rest := line[:end], line[end:]
	var pairs []string
	if rest[0] == '{' {
		var closed bool
		pairs, le, rest, closed = parseLabels(rest[1:])
		if !closed {
			return "", "", "", 0, false
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", "", "", 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", "", "", 0, false
	}
	slices.Sort(pairs)
	return name, strings.Join(pairs, ","), le, v, true
}

// parseLabels reads `k="v",k2="v2"}` (escapes \\, \" and \n in values)
// and returns the pairs as k="v" but le, le's value, and what follows the
// closing brace.
func parseLabels(s string) (pairs []string, le, rest string, closed bool) {
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return nil, "", "", false
		}
		if s[0] == '}' {
			return pairs, le, s[1:], true
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, "", "", false
		}
		key := strings.TrimSpace(s[:eq])
		var val strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
				switch s[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[i])
				}
				continue
			}
			val.WriteByte(s[i])
		}
		if i >= len(s) {
			return nil, "", "", false
		}
		if key == "le" {
			le = val.String()
		} else {
			pairs = append(pairs, key+"="+strconv.Quote(val.String()))
		}
		s = s[i+1:]
	}
}

// hopRow is one line of the table: a series' mean and 99th percentile
// over the phase.
type hopRow struct {
	service, family, labels string
	count                   float64
	mean, p99               time.Duration
	hasP99                  bool
}

// hopDeltas are the series of after that gained observations since
// before, with their mean and 99th percentile over that interval.
func hopDeltas(service string, before, after []hopSeries) []hopRow {
	prev := map[string]hopSeries{}
	for _, s := range before {
		prev[s.key()] = s
	}
	var rows []hopRow
	for _, s := range after {
		p := prev[s.key()]
		n := s.count - p.count
		if n <= 0 {
			continue
		}
		mean := (s.sum - p.sum) / n
		p99, hasP99 := quantile(0.99, bucketDeltas(p.buckets, s.buckets))
		rows = append(rows, hopRow{service: service, family: s.family, labels: s.labels, count: n,
			mean: seconds(mean), p99: seconds(p99), hasP99: hasP99})
	}
	return rows
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// bucketDeltas are after's buckets less before's of the same bound.
func bucketDeltas(before, after []bucket) []bucket {
	prev := map[float64]float64{}
	for _, b := range before {
		prev[b.le] = b.count
	}
	out := make([]bucket, len(after))
	for i, b := range after {
		out[i] = bucket{le: b.le, count: b.count - prev[b.le]}
	}
	return out
}

// quantile estimates the q-quantile of cumulative buckets by linear
// interpolation inside the bucket that holds it, as Prometheus's
// histogram_quantile does; in the +Inf bucket it is the largest finite
// bound. The services' buckets double, so it is good to within that
// bucket's width.
func quantile(q float64, buckets []bucket) (float64, bool) {
	if len(buckets) == 0 || buckets[len(buckets)-1].count <= 0 {
		return 0, false
	}
	rank := q * buckets[len(buckets)-1].count
	lower, below := 0.0, 0.0
	for _, b := range buckets {
		if b.count >= rank {
			if math.IsInf(b.le, 1) {
				return lower, true
			}
			return lower + (b.le-lower)*(rank-below)/(b.count-below), true
		}
		lower, below = b.le, b.count
	}
	return lower, true
}

// hopTable prints the rows beside the measured XADD→subscriber mean and
// p99, each with its mean's share of the measured mean.
func hopTable(w io.Writer, rows []hopRow, measuredMean, measuredP99 time.Duration) {
	fmt.Fprintf(w, "  per hop, over the steady phase (from the services' histograms, p99 interpolated inside its bucket; stages may nest, so shares need not add up):\n")
	if len(rows) == 0 {
		fmt.Fprintf(w, "  (no per-hop histograms exposed)\n")
		fmt.Fprintf(w, "  %-10s %-52s %9s %9s\n", "measured", "XADD→subscriber", ms(measuredMean), ms(measuredP99))
		return
	}
	fmt.Fprintf(w, "  %-10s %-52s %9s %9s %9s %6s\n", "service", "histogram{labels}", "mean", "p99", "count", "share")
	for _, r := range rows {
		series := r.family
		if r.labels != "" {
			series += "{" + r.labels + "}"
		}
		share := "-"
		if measuredMean > 0 {
			share = fmt.Sprintf("%.0f%%", 100*float64(r.mean)/float64(measuredMean))
		}
		p99 := "-"
		if r.hasP99 {
			p99 = ms(r.p99)
		}
		fmt.Fprintf(w, "  %-10s %-52s %9s %9s %9.0f %6s\n", r.service, series, ms(r.mean), p99, r.count, share)
	}
	fmt.Fprintf(w, "  %-10s %-52s %9s %9s %9s %6s\n", "measured", "XADD→subscriber", ms(measuredMean), ms(measuredP99), "", "100%")
}

// scrapeHops reads a service's /metrics at addr (host:port).
func scrapeHops(addr string) ([]hopSeries, error) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", addr, resp.Status)
	}
	return parseHops(resp.Body)
}
