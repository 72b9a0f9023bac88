// Package router is the router service: it turns each event from ingest into
// MQTT messages, hands them to the publisher, and acknowledges the event
// upstream once the broker has every one of them.
package router

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/nemo-mqtt-bridge/bridge/services/platform/records"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/secret"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/service"
	"github.com/nemo-mqtt-bridge/bridge/services/platform/timezone"
	"github.com/nemo-mqtt-bridge/bridge/services/router/internal/rules"
)

// Options configure the router.
type Options struct {
	Service        service.Options
	PublisherAddr  string
	TopicPrefix    string
	RulesFile      string
	RedisURL       string
	Stream         string
	RecentMessages int64
	// The displays profile.
	Displays          bool
	DisplayTimezone   string
	DisplayNameLength int
	DisplayTimeFormat string
	DisplayASCII      bool
	// Signed payloads; the key itself comes from SigningKeyFile or the
	// environment variable SIGNING_KEY, never from a flag.
	SigningKeyFile string
	SignAll        bool
}

// Bind registers the router's flags.
func (o *Options) Bind(fs *flag.FlagSet) {
	o.Service.Bind(fs, "router", "127.0.0.1:7002", "127.0.0.1:9102")
	fs.StringVar(&o.PublisherAddr, "publisher-addr", "localhost:7003", "gRPC address of the publisher; a comma-separated list when a standby runs beside it; with publisher shards, each shard's list separated by ; (shard 0 first: every router must list the shards in the same order)")
	fs.StringVar(&o.TopicPrefix, "topic-prefix", "", "the rules' {prefix}, for example site1/, in place of the rules file's own (empty: the file's)")
	fs.StringVar(&o.RulesFile, "rules", "", "YAML rules file saying which messages each event becomes, reloaded when it changes (empty: the built-in rules, every event on its own topic) [$RULES_FILE]")
	secret.Var(fs, &o.RedisURL, "redis-url", "", "Redis keeping the current state of every tool, published retained on nemo/tools/{id}/status (empty: no tool state)")
	fs.StringVar(&o.Stream, "stream", records.InputStream, "the stream ingest reads, in the Redis of -redis-url: an event whose sequence is ahead of every id Redis gave it is refused")
	fs.Int64Var(&o.RecentMessages, "recent-messages", 1000, "delivered messages kept in Redis (nemo:bridge:recent) for the status page's live feed, and the most recorded there a second")
	fs.BoolVar(&o.Displays, "displays", false, "also publish what the ESP32 tool displays read (nemo/esp32/...), with the built-in displays profile, beside the rules")
	fs.StringVar(&o.DisplayTimezone, "display-timezone", "UTC", "IANA time zone of the times the displays show, for example America/Los_Angeles")
	fs.StringVar(&o.DisplayTimeFormat, "display-time-format", rules.DefaultDisplayTimeLayout, "how the displays show a time, as a Go time layout (the reference time Mon Jan 2 15:04:05 2006); the default is the old display server's \"Nov 04, 09:03 AM\"")
	fs.IntVar(&o.DisplayNameLength, "display-name-length", rules.DefaultDisplayNameLength, "longest user name a display shows; a longer one becomes the first name, cut to this")
	fs.BoolVar(&o.DisplayASCII, "display-ascii", true, "write the displays' texts in ASCII, the only letters their fonts have (é as e, ß as ss, … as ..., other letters dropped; a tool name with nothing left as \"Tool 12\"); false sends them in UTF-8 as NEMO wrote them")
	fs.StringVar(&o.SigningKeyFile, "signing-key-file", "", "file holding the HMAC-SHA256 key that signs payloads (publishes with sign: true, or all with -sign-all); the environment variable SIGNING_KEY gives the key itself instead")
	fs.BoolVar(&o.SignAll, "sign-all", false, "sign every payload whose publish does not say sign: false (needs a signing key)")
}

// rulesSettings reads the display and signing settings. Its errors never
// hold the key.
func (o Options) rulesSettings() (rules.Settings, error) {
	var st rules.Settings
	loc, err := timezone.Load(o.DisplayTimezone)
	if err != nil {
		return st, fmt.Errorf("-display-timezone %w", err)
	}
	st.DisplayLocation = loc
	if o.DisplayNameLength < 1 {
		return st, fmt.Errorf("-display-name-length %d: want at least 1", o.DisplayNameLength)
	}
	st.DisplayNameLength = o.DisplayNameLength
	if err := checkTimeLayout(o.DisplayTimeFormat); err != nil {
		return st, err
	}
	st.DisplayTimeLayout = o.DisplayTimeFormat
	st.DisplayUTF8 = !o.DisplayASCII
	key, err := o.signingKey()
	if err != nil {
		return st, err
	}
	st.SigningKey, st.SignAll = key, o.SignAll
	if o.SignAll && len(key) == 0 {
		return st, errors.New("-sign-all: there is no signing key (give -signing-key-file or SIGNING_KEY)")
	}
	return st, nil
}

// signingKey reads the key from -signing-key-file (without the line end
// an editor adds), else from SIGNING_KEY; nil when neither is given.
func (o Options) signingKey() ([]byte, error) {
	if o.SigningKeyFile != "" {
		data, err := os.ReadFile(o.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("-signing-key-file: %w", err)
		}
		key := bytes.TrimRight(data, "\r\n")
		if len(key) == 0 {
			return nil, fmt.Errorf("-signing-key-file %s is empty", o.SigningKeyFile)
		}
		return key, nil
	}
	if key := os.Getenv("SIGNING_KEY"); key != "" {
		return []byte(key), nil
	}
	return nil, nil
}

// checkTimeLayout refuses a layout that writes no part of the time: a
// strftime format such as "%H:%M" would otherwise reach every screen as
// it is.
func checkTimeLayout(layout string) error {
	probe := time.Date(2001, 11, 23, 19, 45, 0, 0, time.UTC)
	if layout == "" || probe.Format(layout) == layout {
		return fmt.Errorf("-display-time-format %q writes no time: give a Go time layout, which writes the reference time Mon Jan 2 15:04:05 2006 as it should look, e.g. \"Jan 02, 03:04 PM\"", layout)
	}
	return nil
}
