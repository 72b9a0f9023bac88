package records

import (
	"fmt"
	"regexp"
)

// One deployment may serve several NEMO sites, each read by its own
// ingest (-site). A site's tools are kept apart from every other site's:
// the default site (the inputs started without -site) keeps its state
// under Tools as before, and each named site under its own pair of keys.
//
// Written by: the router (the state, and the site's entry in Sites the
// first time it routes one of the site's events).
// Read by: the gateway (ListSites, and the tools of one site).

// Sites is the hash of site name → the site's topic prefix, one field per
// site the routers have had events from.
const Sites = "nemo:bridge:sites"

// siteName is what a site may be called: it goes into Redis keys, ordering
// keys, REST paths and metrics labels as written, so it holds no
// separator any of them uses.
var siteName = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$`)

// CheckSite says what is wrong with a site's name, or nil. "" is the
// default site and always valid.
func CheckSite(site string) error {
	if site == "" || siteName.MatchString(site) {
		return nil
	}
	return fmt.Errorf("site name %q: use 1 to 63 lower-case letters, digits, '-' or '_', starting and ending with a letter or digit (it goes into Redis keys and REST paths as written)", site)
}

// SiteTools is the hash holding the state of site's tools (Tools for the
// default site), and SiteToolSequences their sequences, in its hash slot.
func SiteTools(site string) string {
	if site == "" {
		return Tools
	}
	return Tools + ":site:" + site
}

func SiteToolSequences(site string) string {
	if site == "" {
		return ToolSequences
	}
	return Sibling(SiteTools(site), ":seq")
}
