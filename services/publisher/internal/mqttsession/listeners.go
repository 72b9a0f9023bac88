package mqttsession

import (
	"sync"

	"github.com/eclipse/paho.golang/paho"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/mqtttopic"
)

// listeners are the bridge's own short reads from the broker (a test
// message coming back, retained screen messages), each for the topics of
// its filter. The bridge subscribes to nothing else.
type listeners struct {
	mu   sync.Mutex
	next int
	all  map[int]listener
	// reading lets one read at a time hold a subscription, so that two
	// reads of one filter cannot unsubscribe each other.
	reading sync.Mutex
}

type listener struct {
	filter mqtttopic.Filter
	heard  func(*paho.Publish)
}

// received is the session's handler of incoming messages.
func (l *listeners) received(r paho.PublishReceived) (bool, error) {
	l.mu.Lock()
	var hear []func(*paho.Publish)
	for _, li := range l.all {
		if li.filter.Matches(r.Packet.Topic) {
			hear = append(hear, li.heard)
		}
	}
	l.mu.Unlock()
	for _, h := range hear {
		h(r.Packet)
	}
	return true, nil
}

// listen calls heard with every message on topics of filter until the
// returned stop is called.
func (l *listeners) listen(filter mqtttopic.Filter, heard func(*paho.Publish)) (stop func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.all == nil {
		l.all = map[int]listener{}
	}
	id := l.next
	l.next++
	l.all[id] = listener{filter: filter, heard: heard}
	return func() {
		l.mu.Lock()
		delete(l.all, id)
		l.mu.Unlock()
	}
}
