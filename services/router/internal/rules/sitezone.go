package rules

import (
	"sync"
	"time"

	bridgev1 "github.com/nemo-mqtt-bridge/bridge/gen/nemo/bridge/v1"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/timezone"
)

// zones caches the time zones of the sites' displays by name: loading one
// reads the zone database, and every event of a site names its zone.
var zones sync.Map // string -> *time.Location, nil when not a zone

// forEvent is st for ev: with the display time zone of ev's site
// (Event.site_display_timezone) in place of the router's, when it names
// one. Ingest checked the name at start; one this router cannot load
// (an older zone database) leaves the router's zone.
func (st *Settings) forEvent(ev *bridgev1.Event) *Settings {
	name := ev.GetSiteDisplayTimezone()
	if name == "" {
		return st
	}
	loc, ok := zones.Load(name)
	if !ok {
		l, _ := timezone.Load(name)
		loc, _ = zones.LoadOrStore(name, l)
	}
	l, _ := loc.(*time.Location)
	if l == nil {
		return st
	}
	c := Settings{}
	if st != nil {
		c = *st
	}
	c.DisplayLocation = l
	return &c
}
