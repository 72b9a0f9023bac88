package pipeline

import "time"

// watch drops the connection when an answer has been missing for longer
// than AckTimeout: a broker that is alive answers every message, and the
// session resends what it holds, in order, at the reconnect. A lost
// connection needs no watch; paho notices it by the keepalive.
func (p *Pipeline) watch() {
	if p.o.AckTimeout <= 0 {
		return
	}
	tick := time.NewTicker(p.o.AckTimeout / 4)
	defer tick.Stop()
	var last time.Time
	for {
		select {
		case <-p.ctx.Done():
			return
		case now := <-tick.C:
			st := p.send.State()
			if !st.Connected {
				continue // the session resends everything once it is back
			}
			oldest := p.oldestUnanswered()
			if oldest.Before(st.Since) {
				oldest = st.Since // resent at this connection's start
			}
			if oldest.IsZero() || now.Sub(oldest) < p.o.AckTimeout || now.Sub(last) < p.o.AckTimeout {
				continue
			}
			last = now
			p.o.Log.Warn("the broker has not answered a message for too long; reconnecting so that the session resends it", "waited", now.Sub(oldest).Round(time.Second), "limit", p.o.AckTimeout)
			p.send.Reconnect()
		}
	}
}

// oldestUnanswered is when the longest-waiting message in flight was
// written, zero when none is.
func (p *Pipeline) oldestUnanswered() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var oldest time.Time
	if p.inFlight == 0 {
		return oldest
	}
	for _, t := range p.tools {
		for _, e := range t.entries[:t.next] {
			if !e.answered && !e.written.IsZero() && (oldest.IsZero() || e.written.Before(oldest)) {
				oldest = e.written
			}
		}
	}
	return oldest
}
