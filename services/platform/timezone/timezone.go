// Package timezone reads the IANA time zones the services' flags name.
package timezone

import (
	"fmt"
	"time"
	_ "time/tzdata" // time zones also where the system has no zoneinfo
)

// Load is the zone called name. "" and "Local" are refused: they name the
// machine's zone, which differs between a laptop and a container, and a
// display would show another clock than the lab's.
func Load(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return nil, fmt.Errorf("%q is not a time zone: give an IANA name such as UTC, Europe/Paris or America/Los_Angeles", name)
	}
	return loc, nil
}
