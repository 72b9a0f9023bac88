package main

import (
	"bufio"
	"fmt"
	"io"
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
// only what the table needs: the _sum and _count lines of those
// histograms, whatever their names and labels.

// hopSeries is one histogram series' sum and count.
type hopSeries struct {
	family string // e.g. nemo_router_stage_seconds
	labels string // canonical: k="v" pairs sorted by name, `le` left out
	sum    float64
	count  float64
}

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
		name, labels, value, ok := parseSample(line)
		if !ok {
			continue
		}
		var family string
		var isSum bool
		switch {
		case strings.HasSuffix(name, "_sum"):
			family, isSum = strings.TrimSuffix(name, "_sum"), true
		case strings.HasSuffix(name, "_count"):
			family = strings.TrimSuffix(name, "_count")
		default:
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
		if isSum {
			out[i].sum = value
		} else {
			out[i].count = value
		}
	}
	return out, sc.Err()
}

// parseSample splits `name{k="v",...} value [timestamp]`; labels come back
// canonical (sorted, `le` left out, values re-quoted).
func parseSample(line string) (name, labels string, value float64, ok bool) {
	end := strings.IndexAny(line, "{ \t")
	if end <= 0 {
		return "", "", 0, false
	}
	name, rest := line[:end], line[end:]
	var pairs []string
	if rest[0] == '{' {
		var closed bool
		pairs, rest, closed = parseLabels(rest[1:])
		if !closed {
			return "", "", 0, false
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", "", 0, false
	}
	slices.Sort(pairs)
	return name, strings.Join(pairs, ","), v, true
}

// parseLabels reads `k="v",k2="v2"}` (escapes \\, \" and \n in values)
// and returns the pairs as k="v" and what follows the closing brace.
func parseLabels(s string) (pairs []string, rest string, closed bool) {
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return nil, "", false
		}
		if s[0] == '}' {
			return pairs, s[1:], true
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, "", false
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
			return nil, "", false
		}
		if key != "le" {
			pairs = append(pairs, key+"="+strconv.Quote(val.String()))
		}
		s = s[i+1:]
	}
}

// hopRow is one line of the table: a series' mean over the phase.
type hopRow struct {
	service, family, labels string
	count                   float64
	mean                    time.Duration
}

// hopDeltas are the series of after that gained observations since
// before, with their mean over that interval.
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
		rows = append(rows, hopRow{service: service, family: s.family, labels: s.labels, count: n,
			mean: time.Duration(mean * float64(time.Second))})
	}
	return rows
}

// hopTable prints the rows beside the measured XADD→subscriber mean, each
// with its share of it.
func hopTable(w io.Writer, rows []hopRow, measuredMean time.Duration) {
	fmt.Fprintf(w, "  per hop, mean over the steady phase (from the services' histograms; stages may nest, so shares need not add up):\n")
	if len(rows) == 0 {
		fmt.Fprintf(w, "  (no per-hop histograms exposed)\n")
		fmt.Fprintf(w, "  %-10s %-52s %9s\n", "measured", "XADD→subscriber", ms(measuredMean))
		return
	}
	fmt.Fprintf(w, "  %-10s %-52s %9s %9s %6s\n", "service", "histogram{labels}", "mean", "count", "share")
	for _, r := range rows {
		series := r.family
		if r.labels != "" {
			series += "{" + r.labels + "}"
		}
		share := "-"
		if measuredMean > 0 {
			share = fmt.Sprintf("%.0f%%", 100*float64(r.mean)/float64(measuredMean))
		}
		fmt.Fprintf(w, "  %-10s %-52s %9s %9.0f %6s\n", r.service, series, ms(r.mean), r.count, share)
	}
	fmt.Fprintf(w, "  %-10s %-52s %9s %9s %6s\n", "measured", "XADD→subscriber", ms(measuredMean), "", "100%")
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
