package statusapi

import (
	"fmt"
	"strings"
	"time"

	statusv1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/status/v1"
)

// causeOrder is the order in which a failing hop explains the others: a
// service not ready is often only waiting for the next one (ingest for the
// router, the router for the publisher, the publisher for the broker), so
// the sentence names the hop that the rest wait on.
var causeOrder = []string{hopRedis, hopPublisher, hopBroker, hopRouter, hopIngest}

// behindAfter is how old the oldest waiting event may be before the
// sentence says that the displays are behind.
const behindAfter = time.Minute

// summarize writes the one sentence at the top of the page. A hop that
// fails comes first; with every hop working, a warning does, since it
// explains why displays miss events better than a backlog would.
func summarize(hops []*statusv1.Hop, b backlog, warnings []*statusv1.HealthWarning, now time.Time) string {
	byName := map[string]*statusv1.Hop{}
	for _, h := range hops {
		byName[h.GetName()] = h
	}
	for _, name := range causeOrder {
		if h := byName[name]; h != nil && !h.GetHealthy() {
			return problem(h, now)
		}
	}
	if len(warnings) > 0 {
		return warnings[0].GetSummary()
	}
	if !b.oldest.IsZero() && now.Sub(b.oldest) > behindAfter {
		return fmt.Sprintf("Everything is connected, but %d events are waiting and the oldest is %s old, so tool displays are behind. They will catch up; if the number keeps growing, the bridge cannot keep up with NEMO.",
			b.waiting+b.inFlight, roundAge(now.Sub(b.oldest)))
	}
	return "Everything is working: tool displays are up to date."
}

func problem(h *statusv1.Hop, now time.Time) string {
	since := ""
	if h.GetSince() != nil && h.GetSince().AsTime().After(time.Unix(0, 0)) {
		since = " since " + clock(h.GetSince().AsTime(), now)
	}
	switch h.GetName() {
	case hopRedis:
		return fmt.Sprintf("The bridge %s%s, so it cannot read NEMO's events; tool displays are not being updated. Check that Redis is running and reachable.", strings.Replace(h.GetSummary(), "cannot reach Redis", "cannot reach its Redis database", 1), since)
	case hopIngest:
		// With sites: nobody reads one site's events, while the others'
		// may flow; the hop's summary names the site.
		if summary := h.GetSummary(); strings.HasPrefix(summary, "nobody reads ") {
			whose := "that site's"
			if strings.Count(summary, "nobody reads ") > 1 {
				whose = "those sites'"
			}
			sentence := "N" + strings.TrimPrefix(summary, "n")
			if since != "" {
				sentence = "Since " + strings.TrimPrefix(since, " since ") + ", " + summary
			}
			return fmt.Sprintf("%s, so %s tool displays are not being updated. Restart the site's ingest, or look at its log for why; no event is lost meanwhile.", sentence, whose)
		}
	case hopBroker:
		sentence := fmt.Sprintf("The bridge %s%s, so tool displays are not being updated.", strings.Replace(h.GetSummary(), "cannot reach the broker", "cannot reach the MQTT broker", 1), since)
		if reason := h.GetDetail(); reason != "" {
			return sentence + " " + reason
		}
		return sentence + " Check that the broker is running and reachable; the bridge keeps trying and loses nothing meanwhile."
	}
	return fmt.Sprintf("The bridge's %s service is %s%s, so tool displays are not being updated. Restart it, or look at its log for why; no event is lost meanwhile.", h.GetName(), h.GetSummary(), since)
}

// clock says when, for people, as the page and the displays do: the time
// if it was today, else the day too.
func clock(t, now time.Time) string {
	t = t.In(now.Location())
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("3:04 PM")
	}
	return t.Format("Jan 2, 3:04 PM")
}

func roundAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	}
	return fmt.Sprintf("%.1f hours", d.Hours())
}
